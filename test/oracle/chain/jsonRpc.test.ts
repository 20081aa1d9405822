import { expect } from "chai";
import { ethers } from "hardhat";
import { type JsonRpcProvider, isError } from "ethers";
import { RetryableError } from "../../../oracle/src/errors";
import { classifyRpcError, createProvider } from "../../../oracle/src/chain/rpc";
import { ethCall, getBlockHeader, getBlockNumber, getLogs, getReceipt } from "../../../oracle/src/chain/jsonRpc";
import { type ChainNode, LOCAL_CHAIN_ID, startChainNode } from "../../../scripts/demo/chainNode";
import { devAccount } from "../../../scripts/demo/accounts";

describe("raw JSON-RPC reads", function () {
  this.timeout(60_000);
  let node: ChainNode;
  let rpc: JsonRpcProvider;
  before(async function () {
    // A chain node over HTTP and the node's own provider: the errors are what a real RPC answers.
    node = await startChainNode("anvil");
    rpc = createProvider(node.url, LOCAL_CHAIN_ID);
  });
  after(async function () {
    rpc?.destroy();
    await node?.stop();
  });

  it("read blocks, logs, receipts and calls as ethers does, on a real node", async function () {
    const owner = devAccount(0).connect(rpc);
    const other = devAccount(1);
    const token = await (await ethers.getContractFactory("DemoToken", owner)).deploy();
    const sent = await token.mint(other.address, 1_000n);
    const mined = (await sent.wait())!;
    const tokenAddress = await token.getAddress();

    const number = await getBlockNumber(rpc);
    expect(number).to.equal(await rpc.getBlockNumber());
    const header = (await getBlockHeader(rpc, mined.blockNumber))!;
    const block = (await rpc.getBlock(mined.blockNumber))!;
    expect(header).to.deep.equal({
      number: block.number,
      hash: block.hash,
      parentHash: block.parentHash,
      timestamp: block.timestamp,
      transactions: [...block.transactions],
    });
    expect((await getBlockHeader(rpc, "latest"))!.number).to.equal(number);
    expect(await getBlockHeader(rpc, number + 10), "a block not mined yet").to.equal(null);

    const filter = { address: [tokenAddress], fromBlock: mined.blockNumber, toBlock: mined.blockNumber };
    const logs = await getLogs(rpc, filter);
    const theirs = await rpc.getLogs({ ...filter, address: tokenAddress });
    expect(logs).to.have.length(1);
    expect(logs).to.deep.equal(
      theirs.map((l) => ({
        address: l.address,
        topics: [...l.topics],
        data: l.data,
        blockNumber: l.blockNumber,
        blockHash: l.blockHash,
        transactionHash: l.transactionHash,
        index: l.index,
      })),
    );
    expect(logs[0].address, "checksummed like ethers").to.equal(tokenAddress);

    const receipt = (await getReceipt(rpc, sent.hash))!;
    expect(receipt).to.deep.include({ hash: sent.hash, status: 1, blockNumber: mined.blockNumber, blockHash: mined.blockHash, gasUsed: mined.gasUsed });
    expect(receipt.logs).to.deep.equal(logs);
    expect(await getReceipt(rpc, `0x${"ab".repeat(32)}`), "an unknown transaction").to.equal(null);

    const data = token.interface.encodeFunctionData("balanceOf", [other.address]);
    expect(await ethCall(rpc, { to: tokenAddress, data })).to.equal(await rpc.call({ to: tokenAddress, data }));
    // A revert keeps ethers' error kind and its data, which the node decodes into the custom error.
    const transfer = token.interface.encodeFunctionData("transferFrom", [other.address, owner.address, 1n]);
    const reverted = await ethCall(rpc, { to: tokenAddress, data: transfer }).then(
      () => expect.fail("an allowance-less transferFrom must revert"),
      (error: unknown) => error,
    );
    expect(isError(reverted, "CALL_EXCEPTION")).to.equal(true);
    const decoded = token.interface.parseError((reverted as { data: string }).data);
    expect(decoded?.name).to.equal("ERC20InsufficientAllowance");
  });

  it("refuse malformed answers with a retryable error, never as chain state", async function () {
    const answering = (answer: unknown) => ({ send: async () => answer });
    const malformed: [string, Promise<unknown>][] = [
      ["a short block hash", getBlockHeader(answering({ number: "0x1", hash: "0x12", parentHash: `0x${"00".repeat(32)}`, timestamp: "0x1", transactions: [] }), 1)],
      ["a block number that is no quantity", getBlockNumber(answering("12"))],
      ["a number past 2^53", getBlockNumber(answering("0x20000000000000"))],
      ["a log list that is an object", getLogs(answering({}), { address: [], fromBlock: 1, toBlock: 1 })],
      ["a log without an address", getLogs(answering([{ topics: [], data: "0x" }]), { address: [], fromBlock: 1, toBlock: 1 })],
      ["odd-length call data", ethCall(answering("0x123"), { to: `0x${"11".repeat(20)}`, data: "0x" })],
      ["a receipt without logs", getReceipt(answering({ transactionHash: `0x${"ab".repeat(32)}`, status: "0x1", blockNumber: "0x1", blockHash: `0x${"cd".repeat(32)}`, gasUsed: "0x5208" }), "0x")],
    ];
    for (const [what, read] of malformed) {
      const error = await read.then(
        () => expect.fail(`${what} was accepted`),
        (e: unknown) => e,
      );
      expect(classifyRpcError(error, "read"), what).to.be.instanceOf(RetryableError);
      expect((error as Error).message, what).to.match(/^rpc answered a malformed/);
    }
  });
});
