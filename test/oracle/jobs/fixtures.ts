import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { JsonRpcProvider } from "ethers";
import { createListener } from "../../../oracle/src/chain/listener";
import { createEventApplier } from "../../../oracle/src/jobs/events";
import { createJournal } from "../../../oracle/src/jobs/journal";
import { createContentStore } from "../../../oracle/src/store/contentStore";
import { deployedNetworkFixture } from "../http/fixture";
import { createTestCommon } from "../store/fixtures";

/**
 * The listener and the event applier of one node over the in-process chain, serving `validators` (by default all
 * three staked ones). `attempts` records each `onAttempt` call; `drain()` applies every event mined so far.
 */
export async function nodeOverChain(options: { validators?: (net: Awaited<ReturnType<typeof deployedNetworkFixture>>) => string[] } = {}) {
  const net = await loadFixture(deployedNetworkFixture);
  const common = createTestCommon({ confirmations: 0 });
  const journal = createJournal(common.db);
  const contentStore = createContentStore(common.db);
  const attempts: { requestId: bigint; attempt: number }[] = [];
  const validators = options.validators?.(net) ?? net.validators.map((v) => v.address);
  const apply = createEventApplier({
    journal,
    validators,
    contentStore,
    logger: common.logger,
    metrics: common.metrics,
    onAttempt: (requestId, _block, attempt) => attempts.push({ requestId, attempt }),
  });
  const listener = createListener(common, {
    provider: ethers.provider as unknown as JsonRpcProvider,
    journal,
    contracts: [net.deployment.chatRecordRegistry],
    startBlock: net.deployment.startBlock,
    apply,
  });
  async function drain() {
    for (let i = 0; i < 100; i++) if ((await listener.step()).type === "idle") return;
    throw new Error("listener did not go idle");
  }
  return { net, common, journal, contentStore, listener, attempts, drain };
}
