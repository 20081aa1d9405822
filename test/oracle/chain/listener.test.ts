import { expect } from "chai";
import { AbiCoder, Interface, type JsonRpcProvider, keccak256, toUtf8Bytes, zeroPadValue, toBeHex } from "ethers";
import pino from "pino";
import { createEventDecoder, createListener, type ChainEvent } from "../../../oracle/src/chain/listener";
import { readArtifact } from "../../../scripts/demo/deploy";
import { createShutdown, type Common } from "../../../oracle/src/common";
import { parseConfig } from "../../../oracle/src/config";
import { createJournal } from "../../../oracle/src/jobs/journal";
import { createMetrics } from "../../../oracle/src/metrics";
import { openDatabase } from "../../../oracle/src/store/database";

const ADDRESS = "0x00000000000000000000000000000000000000c0";
const IFACE = new Interface(["event Ping(uint256 indexed id, string note)"]);

interface FakeBlock {
  number: number;
  hash: string;
  logs: { id: number; note: string }[];
}

/** An in-memory chain behind the three calls the listener makes; `reorgFrom` replaces blocks like a reorg would. */
class FakeChain {
  blocks: FakeBlock[] = [{ number: 0, hash: keccak256(toUtf8Bytes("genesis")), logs: [] }];
  down = false;

  mine(logs: { id: number; note: string }[] = [], salt = "") {
    const number = this.blocks.length;
    this.blocks.push({ number, hash: keccak256(toUtf8Bytes(`${number}:${salt}:${JSON.stringify(logs)}`)), logs });
  }

  reorgFrom(height: number) {
    this.blocks = this.blocks.slice(0, height);
  }

  private check() {
    if (this.down) throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "ECONNREFUSED" });
  }

  provider(): JsonRpcProvider {
    return {
      getBlockNumber: async () => {
        this.check();
        return this.blocks.length - 1;
      },
      getBlock: async (n: number) => {
        this.check();
        const b = this.blocks[n];
        return b ? { hash: b.hash, number: b.number } : null;
      },
      getLogs: async (filter: { fromBlock: number; toBlock: number }) => {
        this.check();
        return this.blocks
          .slice(filter.fromBlock, filter.toBlock + 1)
          .flatMap((b) =>
            b.logs.map((l, index) => ({
              address: ADDRESS,
              topics: [IFACE.getEvent("Ping")!.topicHash, zeroPadValue(toBeHex(l.id), 32)],
              data: AbiCoder.defaultAbiCoder().encode(["string"], [l.note]),
              blockNumber: b.number,
              blockHash: b.hash,
              transactionHash: keccak256(toUtf8Bytes(`${b.hash}${index}`)),
              index,
            })),
          );
      },
    } as unknown as JsonRpcProvider;
  }
}

function setup(chain: FakeChain, options: string[] = []) {
  const db = openDatabase(":memory:");
  const journal = createJournal(db);
  const logger = pino({ level: "silent" });
  const config = parseConfig({ argv: ["--block-range", "3", ...options], env: {} }).config;
  const common: Common = { config, logger, metrics: createMetrics(), db, shutdown: createShutdown(logger) };
  const applied: ChainEvent[] = [];
  const listener = createListener(common, {
    provider: chain.provider(),
    journal,
    contracts: [{ address: ADDRESS, iface: IFACE }],
    startBlock: 1,
    apply: (events) => {
      applied.push(...events);
      // Stand in for the event applier: one tracked request per Ping, seen in its block.
      for (const e of events) {
        journal.trackRequest({ requestId: e.args.id as bigint, seenBlock: e.blockNumber, modelId: "1", prompt: e.args.note, promptHash: "0x", maxNewTokens: 1, deadline: 0 });
      }
    },
  });
  return { listener, journal, applied, common };
}

async function drain(listener: ReturnType<typeof createListener>) {
  const steps = [];
  for (let i = 0; i < 50; i++) {
    const step = await listener.step();
    steps.push(step);
    if (step.type === "idle") return steps;
  }
  throw new Error("listener did not go idle");
}

describe("chain listener", function () {
  it("reads logs in bounded ranges in order and reports caught up", async function () {
    const chain = new FakeChain();
    for (let i = 1; i <= 7; i++) chain.mine(i % 2 ? [{ id: i, note: `n${i}` }] : []);
    const { listener, applied, journal } = setup(chain);
    expect(listener.caughtUp()).to.equal(false);
    const steps = await drain(listener);
    expect(steps.filter((s) => s.type === "block").map((s) => s.type === "block" && [s.fromBlock, s.toBlock])).to.deep.equal([
      [1, 3],
      [4, 6],
      [7, 7],
    ]);
    expect(applied.map((e) => Number(e.args.id))).to.deep.equal([1, 3, 5, 7]);
    expect(journal.processedBlock()).to.equal(7);
    expect(listener.caughtUp()).to.equal(true);
  });

  it("waits for the confirmation depth before acting on a block", async function () {
    const chain = new FakeChain();
    chain.mine([{ id: 1, note: "a" }]);
    chain.mine([{ id: 2, note: "b" }]);
    const { listener, applied } = setup(chain, ["--confirmations", "1"]);
    await drain(listener);
    expect(applied.map((e) => Number(e.args.id))).to.deep.equal([1]);
    chain.mine();
    await drain(listener);
    expect(applied.map((e) => Number(e.args.id))).to.deep.equal([1, 2]);
  });

  it("rolls back to the common ancestor after a reorg and re-applies the new branch", async function () {
    const chain = new FakeChain();
    for (let i = 1; i <= 6; i++) chain.mine([{ id: i, note: `old ${i}` }]);
    const { listener, applied, journal } = setup(chain);
    await drain(listener);
    expect(journal.getRequest(5n)?.prompt).to.equal("old 5");

    chain.reorgFrom(4); // blocks 4.. are replaced
    chain.mine([{ id: 4, note: "new 4" }], "fork");
    chain.mine([{ id: 5, note: "new 5" }], "fork");
    const steps = await drain(listener);
    const reorg = steps.find((s) => s.type === "reorg");
    expect(reorg).to.deep.include({ type: "reorg", ancestor: 3 });
    expect(journal.getRequest(6n)).to.equal(undefined);
    expect(journal.getRequest(5n)?.prompt).to.equal("new 5");
    expect(journal.getRequest(3n)?.prompt).to.equal("old 3");
    expect(applied.map((e) => e.args.note)).to.deep.equal(["old 1", "old 2", "old 3", "old 4", "old 5", "old 6", "new 4", "new 5"]);
  });

  it("classifies an unreachable RPC as retryable, counts it, and resumes where it stopped", async function () {
    const chain = new FakeChain();
    chain.mine([{ id: 1, note: "a" }]);
    const { listener, applied, common } = setup(chain);
    await drain(listener);
    chain.down = true;
    let error: Error | undefined;
    await listener.step().catch((e: Error) => (error = e));
    expect(error?.name).to.equal("RetryableError");
    expect((await common.metrics.rpcErrorsTotal.get()).values[0].value).to.equal(1);
    chain.mine([{ id: 2, note: "b" }]);
    chain.down = false;
    await drain(listener);
    expect(applied.map((e) => Number(e.args.id))).to.deep.equal([1, 2]);
  });

  it("decodes every registry event as ethers' parseLog does, and skips unknown topics", function () {
    const iface = new Interface(readArtifact("ChatRecordRegistry").abi);
    const decode = createEventDecoder(iface);
    const samples: [string, unknown[]][] = [
      ["ChatRequested", [7n, "0x00000000000000000000000000000000000000a1", 3, toUtf8Bytes("hi ✓"), keccak256(toUtf8Bytes("hi ✓")), 8, 41n, 100n, 200n]],
      ["ChatRequested", [8n, "0x00000000000000000000000000000000000000a1", 3, "0xfffe41", keccak256("0xfffe41"), 8, 42n, 100n, 200n]],
      ["CommitteeDrawn", [7n, 1, ["0x00000000000000000000000000000000000000b1", "0x00000000000000000000000000000000000000b2"]]],
      ["ResponseDeclined", [8n, "0x00000000000000000000000000000000000000b1", 1]],
      ["ResponseCommitted", [7n, "0x00000000000000000000000000000000000000b1", keccak256("0x01")]],
      ["ResponseRevealed", [7n, "0x00000000000000000000000000000000000000b2", keccak256(toUtf8Bytes("an answer")), "an answer"]],
      ["RecordFinalized", [7n, keccak256("0x02"), 3, ["0x00000000000000000000000000000000000000b1", "0x00000000000000000000000000000000000000b2"]]],
    ];
    for (const [name, values] of samples) {
      const fragment = iface.getEvent(name)!;
      const args = fragment.inputs.map((input, i) => values[i] ?? zeroValue(input.baseType));
      const log = iface.encodeEventLog(fragment, args);
      const ours = decode(log)!;
      const theirs = iface.parseLog(log)!;
      expect(ours.name).to.equal(theirs.name);
      expect(ours.args.toObject(true)).to.deep.equal(theirs.args.toObject(true));
    }
    expect(decode({ topics: [keccak256(toUtf8Bytes("Unknown()"))], data: "0x" })).to.equal(undefined);
  });
});

function zeroValue(baseType: string): unknown {
  if (baseType === "address") return "0x0000000000000000000000000000000000000000";
  if (baseType === "bool") return false;
  if (baseType === "string") return "";
  if (baseType === "array") return [];
  if (baseType.startsWith("bytes")) return baseType === "bytes" ? "0x" : zeroPadValue("0x", Number(baseType.slice(5)));
  return 0n;
}
