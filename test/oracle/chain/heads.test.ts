import { expect } from "chai";
import { ethers } from "hardhat";
import { type JsonRpcProvider, ZeroHash, keccak256, toUtf8Bytes } from "ethers";
import pino from "pino";
import { createHeadTracker, createPollPacer } from "../../../oracle/src/chain/heads";
import { createShutdown, type Common } from "../../../oracle/src/common";
import { parseConfig } from "../../../oracle/src/config";
import { createMetrics } from "../../../oracle/src/metrics";
import { openDatabase } from "../../../oracle/src/store/database";
import { settledNow, until } from "../../helpers/waitFor";

function makeCommon(): Common {
  const logger = pino({ level: "silent" });
  const config = parseConfig({ argv: ["--poll-interval-ms", "10"], env: {} }).config;
  return { config, logger, metrics: createMetrics(), db: openDatabase(":memory:"), shutdown: createShutdown(logger) };
}

interface FakeBlock {
  number: number;
  hash: string;
  parentHash: string;
  timestamp: number;
  transactions: string[];
}

/** A block's hash on `branch` (the hash names the branch, so two branches differ from where they fork). */
const hashOf = (branch: string, n: number) => (n < 0 ? ZeroHash : keccak256(toUtf8Bytes(`${branch}${n}`)));
const hex = (n: number) => `0x${n.toString(16)}`;

/** A chain of blocks behind the JSON-RPC methods the tracker calls (`eth_blockNumber`, `eth_getBlockByNumber`). */
function fakeChain() {
  let blocks: FakeBlock[] = [];
  const send = async (method: string, params: unknown[]): Promise<unknown> => {
    if (method === "eth_blockNumber") return hex(blocks.length - 1);
    if (method === "eth_getBlockByNumber") {
      const b = blocks[Number.parseInt(params[0] as string, 16)];
      return b ? { number: hex(b.number), hash: b.hash, parentHash: b.parentHash, timestamp: hex(b.timestamp), transactions: b.transactions } : null;
    }
    throw new Error(`the fake chain has no ${method}`);
  };
  return {
    provider: { send } as unknown as JsonRpcProvider,
    send,
    /** Keeps blocks below `from` and mines blocks from..to on `branch`. */
    mine(branch: string, from: number, to: number) {
      blocks = blocks.slice(0, from);
      for (let n = from; n <= to; n++) {
        const parentHash = n === 0 ? ZeroHash : blocks[n - 1].hash;
        blocks.push({ number: n, hash: hashOf(branch, n), parentHash, timestamp: n, transactions: [] });
      }
    },
  };
}

describe("head tracker receipt waits while the RPC is down", function () {
  it("gives null to a receipt wait at its deadline though every poll fails", async function () {
    const chain = fakeChain();
    chain.mine("a", 0, 3);
    let down = false;
    const provider = {
      send: async (method: string, params: unknown[]) => {
        if ((down && method === "eth_blockNumber") || method === "eth_getTransactionReceipt") {
          throw new Error("connect ECONNREFUSED 127.0.0.1:8545");
        }
        return chain.send(method, params);
      },
    } as unknown as JsonRpcProvider;
    const heads = createHeadTracker(makeCommon(), provider);
    heads.start();
    try {
      await until("head 3", () => heads.latest()?.number === 3);
      down = true; // the chain went away with a transaction in flight
      const waiting = heads.receipt("0x" + "ab".repeat(32), 200);
      await until("the wait to end", () => settledNow(waiting), 30_000, 50);
      expect(await waiting).to.equal(null);
    } finally {
      await heads.stop();
    }
  });
});

describe("head tracker nextBlock", function () {
  it("keeps waiting when a poll that began before the caller's current() lands on the same head", async function () {
    const chain = fakeChain();
    chain.mine("a", 0, 3);
    let releaseFirstRead!: () => void;
    const firstReadReleased = new Promise<void>((resolve) => (releaseFirstRead = resolve));
    let reads = 0;
    let numberCalls = 0;
    const provider = {
      send: async (method: string, params: unknown[]) => {
        if (method === "eth_blockNumber") numberCalls++;
        // The loop's first poll reads block 3 slowly; current()'s own poll overtakes it.
        if (method === "eth_getBlockByNumber" && reads++ === 0) await firstReadReleased;
        return chain.send(method, params);
      },
    } as unknown as JsonRpcProvider;
    const heads = createHeadTracker(makeCommon(), provider);
    heads.start();
    try {
      await until("the loop's first read", () => reads === 1);
      const head = await heads.current();
      expect(head.number).to.equal(3);
      const next = heads.nextBlock(head.number, 60_000);
      const callsBefore = numberCalls;
      releaseFirstRead();
      await until("the loop's next poll", () => numberCalls > callsBefore);
      expect(await settledNow(next), "block 3 again is not a newer block").to.equal(false);
      chain.mine("a", 4, 4);
      await next;
      expect(heads.latest()!.number).to.equal(4);
    } finally {
      await heads.stop();
    }
  });
});

describe("head tracker reorg count", function () {
  it("counts no reorg while each new block extends the last head", async function () {
    const chain = fakeChain();
    chain.mine("a", 0, 5);
    const heads = createHeadTracker(makeCommon(), chain.provider);
    heads.start();
    try {
      await until("head 5", () => heads.latest()?.number === 5);
      chain.mine("a", 6, 9);
      await until("head 9", () => heads.latest()?.number === 9);
      expect(heads.reorgs()).to.equal(0);
    } finally {
      await heads.stop();
    }
  });

  it("counts a reorg when the head drops to a lower height (evm_revert)", async function () {
    const chain = fakeChain();
    chain.mine("a", 0, 8);
    const heads = createHeadTracker(makeCommon(), chain.provider);
    heads.start();
    try {
      await until("head 8", () => heads.latest()?.number === 8);
      chain.mine("b", 5, 6);
      await until("head 6", () => heads.latest()?.number === 6);
      expect(heads.reorgs()).to.equal(1);
    } finally {
      await heads.stop();
    }
  });

  it("counts a reorg when the next block's parent is not the last head (a same-length fork one block longer)", async function () {
    const chain = fakeChain();
    chain.mine("a", 0, 4);
    const heads = createHeadTracker(makeCommon(), chain.provider);
    heads.start();
    try {
      await until("head 4", () => heads.latest()?.number === 4);
      chain.mine("b", 3, 5);
      await until("head 5 on branch b", () => heads.latest()?.hash === hashOf("b", 5));
      expect(heads.reorgs()).to.equal(1);
    } finally {
      await heads.stop();
    }
  });
});

describe("head tracker over the in-process chain", function () {
  const provider = ethers.provider as unknown as JsonRpcProvider;
  const mine = () => ethers.provider.send("evm_mine", []);

  it("answers current() with the chain's latest block, polling once when no head is known yet", async function () {
    const heads = createHeadTracker(makeCommon(), provider);
    await mine();
    expect(heads.latest()).to.equal(undefined);
    expect(heads.lastAnswerAt()).to.equal(undefined);
    const head = await heads.current();
    const block = (await ethers.provider.getBlock("latest"))!;
    expect(head).to.deep.equal({ number: block.number, hash: block.hash, timestamp: block.timestamp });
    expect(heads.latest()).to.deep.equal(head);
    expect(heads.lastAnswerAt()).to.be.a("number");
    await heads.stop();
  });

  it("resolves nextBlock once a block newer than the given one is mined, at once when one already is", async function () {
    const heads = createHeadTracker(makeCommon(), provider);
    heads.start();
    try {
      const head = await heads.current();
      const next = heads.nextBlock(head.number, 60_000);
      await mine();
      await next;
      expect(heads.latest()!.number).to.equal(head.number + 1);
      expect(await settledNow(heads.nextBlock(head.number, 60_000)), "a newer block is known").to.equal(true);
      expect(await settledNow(heads.nextBlock(head.number + 1, 60_000)), "no newer block yet").to.equal(false);
    } finally {
      await heads.stop();
    }
  });

  it("answers a receipt wait from the block that includes the transaction, and a later wait for the same transaction", async function () {
    const heads = createHeadTracker(makeCommon(), provider);
    heads.start();
    const [sender] = await ethers.getSigners();
    await ethers.provider.send("evm_setAutomine", [false]);
    try {
      await heads.current();
      const tx = await sender.sendTransaction({ to: "0x00000000000000000000000000000000000000c1", value: 1n });
      const waiting = heads.receipt(tx.hash, 60_000);
      await mine();
      const receipt = await waiting;
      expect(receipt?.hash).to.equal(tx.hash);
      expect(receipt?.blockNumber).to.equal(heads.latest()!.number);
      expect((await heads.receipt(tx.hash, 60_000))?.blockNumber).to.equal(receipt?.blockNumber);
    } finally {
      await ethers.provider.send("evm_setAutomine", [true]);
      await heads.stop();
    }
  });

  it("gives null to receipt waits and ends nextBlock waits still pending when it stops, and none after", async function () {
    const heads = createHeadTracker(makeCommon(), provider);
    heads.start();
    const head = await heads.current();
    const unknown = heads.receipt(ethers.id("never sent"), 60_000);
    const next = heads.nextBlock(head.number + 1_000, 60_000);
    expect(await settledNow(next)).to.equal(false);
    await heads.stop();
    expect(await settledNow(unknown)).to.equal(true);
    expect(await unknown).to.equal(null);
    expect(await settledNow(next)).to.equal(true);
    expect(await heads.receipt(ethers.id("never sent either"), 60_000)).to.equal(null);
  });
});

describe("head poll pacing", function () {
  it("polls at the base interval until it has seen how blocks arrive", function () {
    const pacer = createPollPacer();
    expect(pacer.delay(0, 20)).to.equal(20);
    pacer.onNewHead(1_000);
    expect(pacer.delay(1_000, 20), "one block says nothing about the gap").to.equal(20);
    pacer.onNewHead(1_250);
    pacer.onNewHead(1_500);
    expect(pacer.delay(1_500, 20), "nor do two gaps").to.equal(20);
  });

  it("on steady blocks waits until three quarters of the gap, then polls at the base interval", function () {
    const pacer = createPollPacer();
    for (let t = 0; t <= 2_500; t += 250) pacer.onNewHead(t);
    expect(pacer.delay(2_500, 20)).to.equal(187.5);
    expect(pacer.delay(2_600, 20)).to.equal(87.5);
    expect(pacer.delay(2_690, 20), "the block is due: base interval").to.equal(20);
    expect(pacer.delay(3_000, 20), "a late block: base interval").to.equal(20);
  });

  it("never waits longer than 5 s (12-second blocks), nor less than the base interval", function () {
    const pacer = createPollPacer();
    for (let t = 0; t <= 120_000; t += 12_000) pacer.onNewHead(t);
    expect(pacer.delay(120_000, 20)).to.equal(5_000);
    expect(pacer.delay(120_000, 8_000)).to.equal(8_000);
  });

  it("drops the pace at once when a block comes well ahead of it (interval mining gave way to automine)", function () {
    const pacer = createPollPacer();
    for (let t = 0; t <= 2_500; t += 250) pacer.onNewHead(t);
    pacer.onNewHead(2_530);
    expect(pacer.delay(2_530, 20)).to.equal(20);
    pacer.onNewHead(2_560);
    pacer.onNewHead(2_590);
    expect(pacer.delay(2_590, 20), "two gaps are not a pace yet").to.equal(20);
  });

  it("polls at the base interval when gaps are irregular (automine: a block per transaction)", function () {
    const pacer = createPollPacer();
    let t = 0;
    for (const gap of [300, 12, 450, 40, 800, 25, 600, 15, 500, 30]) pacer.onNewHead((t += gap));
    expect(pacer.delay(t, 20)).to.equal(20);
  });
});
