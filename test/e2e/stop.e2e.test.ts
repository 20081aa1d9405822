import { expect } from "chai";
import { devAccount } from "../../scripts/demo/accounts";
import { ZeroAddress, toUtf8Bytes } from "ethers";
import { contractsOf } from "../../scripts/demo/network";
import type { OracleNode } from "../../oracle/src/node";
import { type E2eChain, E2E_CHAINS, mineBlocks, setIntervalMining, startE2eChain, startNode, waitFor } from "./helpers";

const USER = devAccount(10);

/** Transactions of `address` broadcast but not mined yet. */
async function pendingTransactions(chain: E2eChain, address: string): Promise<number> {
  const [pending, latest] = await Promise.all([
    chain.provider.getTransactionCount(address, "pending"),
    chain.provider.getTransactionCount(address, "latest"),
  ]);
  return pending - latest;
}

describe(`stopping a node with a transaction in flight (${E2E_CHAINS[0]} node process)`, function () {
  this.timeout(240_000);
  let chain: E2eChain;
  let node: OracleNode | undefined;
  before(async function () {
    chain = await startE2eChain({ config: { committeeSize: 1, quorum: 1 }, stakes: [100n] });
    node = await startNode(chain, [chain.validators[0].privateKey]);
  });
  after(async function () {
    await node?.stop();
    await chain?.stop();
  });

  it("stops within the grace for receipts, not after the receipt timeout, when no block comes", async function () {
    const validator = chain.validators[0].address;
    // No block unless the test mines one: the node's answer stays pending for as long as the test wants.
    await setIntervalMining(chain, 600_000);
    const { chat } = contractsOf(chain.deployment, USER.connect(chain.provider));
    const fee = (await chat.getConfig()).minimumFee as bigint;
    const request = await chat.requestChat(chain.deployment.modelId, toUtf8Bytes("answer, then wait"), 4, ZeroAddress, 0, 0, { value: fee });
    // The request's block, then the blocks its seed and the node's head tracking need.
    await mineBlocks(chain, 3);
    // Polled here, not `request.wait()`: ethers' wait can read the receipt before these blocks and the head after
    // them, and then waits for a block that never comes (the test hung on it).
    await waitFor("the request mined", async () => (await chain.provider.getTransactionReceipt(request.hash)) ?? undefined);
    await waitFor("the node's answer broadcast", async () => ((await pendingTransactions(chain, validator)) > 0 ? true : undefined), 60_000);

    // The receipt timeout is 120 s by default; the node must not wait for it while stopping.
    const stopping = node!.stop().then(() => "stopped" as const);
    node = undefined;
    const outcome = await Promise.race([stopping, new Promise<"still stopping">((r) => setTimeout(() => r("still stopping"), 60_000).unref())]);
    expect(outcome).to.equal("stopped");
    expect(await pendingTransactions(chain, validator), "the answer is still in the pool, journaled for the next start").to.equal(1);
  });
});
