import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { JsonRpcProvider } from "ethers";
import { createListener } from "../../../oracle/src/chain/listener";
import { createEventApplier } from "../../../oracle/src/jobs/events";
import { createJournal } from "../../../oracle/src/jobs/journal";
import { createContentStore, hashText } from "../../../oracle/src/store/contentStore";
import { deployedNetworkFixture, requestChatWithPromptBytes } from "../http/fixture";
import { createTestCommon } from "../store/fixtures";

/** The listener and the event applier of one node serving all three validators, over the in-process chain. */
async function nodeOverChain() {
  const net = await loadFixture(deployedNetworkFixture);
  const common = createTestCommon({ confirmations: 0 });
  const journal = createJournal(common.db);
  const contentStore = createContentStore(common.db);
  const listener = createListener(common, {
    provider: ethers.provider as unknown as JsonRpcProvider,
    journal,
    contracts: [net.deployment.chatRecordRegistry],
    startBlock: net.deployment.startBlock,
    apply: createEventApplier({ journal, validators: net.validators.map((v) => v.address), contentStore, logger: common.logger, metrics: common.metrics }),
  });
  async function drain() {
    for (let i = 0; i < 100; i++) if ((await listener.step()).type === "idle") return;
    throw new Error("listener did not go idle");
  }
  return { net, common, journal, contentStore, listener, drain };
}

describe("event applier", function () {
  it("tracks a request whose prompt is not UTF-8 from its raw bytes and keeps serving the requests after it", async function () {
    const { net, journal, contentStore, drain } = await nodeOverChain();
    const raw = Uint8Array.from([0x48, 0x69, 0xff, 0xfe, 0x21]);
    const poisonId = await requestChatWithPromptBytes(net, raw);
    await (await net.chatRegistry.connect(net.user).requestChat(1, ethers.toUtf8Bytes("a normal prompt"), 8, ethers.ZeroAddress, 0, 0, { value: 10n ** 15n })).wait();
    const normalId = await net.chatRegistry.requestCount();

    await drain();

    expect(journal.processedBlock()).to.equal(await ethers.provider.getBlockNumber());
    // Shown with U+FFFD; the hash is the chain's, of the raw bytes (the pipeline declines it: the text does not hash to it).
    expect(journal.getRequest(poisonId)).to.include({ prompt: "Hi\uFFFD\uFFFD!", promptHash: ethers.keccak256(raw) });
    expect(journal.getRequest(normalId)).to.include({ prompt: "a normal prompt", promptHash: hashText("a normal prompt") });
    // The replaced text is not stored under any hash: it is not the text the chain hashed.
    expect(contentStore.has(ethers.keccak256(raw))).to.equal(false);
    expect(contentStore.has(hashText("Hi\uFFFD\uFFFD!"))).to.equal(false);
    expect(contentStore.get(hashText("a normal prompt"))).to.equal("a normal prompt");
  });
});
