import { expect } from "chai";
import type { JsonRpcProvider } from "ethers";
import pino from "pino";
import { createHeadTracker } from "../../../oracle/src/chain/heads";
import { createShutdown, type Common } from "../../../oracle/src/common";
import { parseConfig } from "../../../oracle/src/config";
import { createMetrics } from "../../../oracle/src/metrics";
import { openDatabase } from "../../../oracle/src/store/database";
import { until } from "../../helpers/waitFor";

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

/** A chain of blocks on branch `branch` (the hash names the branch, so two branches differ from where they fork). */
function fakeChain() {
  let blocks: FakeBlock[] = [];
  const hashOf = (branch: string, n: number) => (n < 0 ? "0x" : `0x${branch}${n}`);
  const provider = {
    getBlockNumber: async () => blocks.length - 1,
    getBlock: async (n: number) => blocks[n] ?? null,
  } as unknown as JsonRpcProvider;
  return {
    provider,
    /** Keeps blocks below `from` and mines blocks from..to on `branch`. */
    mine(branch: string, from: number, to: number) {
      blocks = blocks.slice(0, from);
      for (let n = from; n <= to; n++) {
        const parentHash = n === 0 ? "0x" : blocks[n - 1].hash;
        blocks.push({ number: n, hash: hashOf(branch, n), parentHash, timestamp: n, transactions: [] });
      }
    },
  };
}

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
      await until("head 5 on branch b", () => heads.latest()?.hash === "0xb5");
      expect(heads.reorgs()).to.equal(1);
    } finally {
      await heads.stop();
    }
  });
});
