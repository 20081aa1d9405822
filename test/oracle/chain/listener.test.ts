import { expect } from "chai";
import { AbiCoder, Interface, type JsonRpcProvider, ZeroHash, getAddress, hexlify, keccak256, toUtf8Bytes, zeroPadValue, toBeHex } from "ethers";
import pino from "pino";
import { createEventDecoder, createListener, type ChainEvent } from "../../../oracle/src/chain/listener";
import { readArtifact } from "../../../oracle/src/chain/artifacts";
import { createShutdown, type Common } from "../../../oracle/src/common";
import { parseConfig } from "../../../oracle/src/config";
import { createJournal } from "../../../oracle/src/jobs/journal";
import { createMetrics } from "../../../oracle/src/metrics";
import { createChainEventLog } from "../../../oracle/src/store/chainEventLog";
import { openDatabase } from "../../../oracle/src/store/database";
import { seededRandom } from "../../../oracle/src/prng";

const ADDRESS = getAddress("0x00000000000000000000000000000000000000c0");
const IFACE = new Interface(["event Ping(uint256 indexed id, string note)"]);

/** A Ping log: `note` as text, or as raw bytes (Solidity does not check UTF-8), or `data` as the whole raw payload. */
interface FakeLog {
  id: number;
  note: string | Uint8Array;
  data?: string;
  topic0?: string;
}

interface FakeBlock {
  number: number;
  hash: string;
  logs: FakeLog[];
}

/** An in-memory chain behind the three calls the listener makes; `reorgFrom` replaces blocks like a reorg would. */
class FakeChain {
  blocks: FakeBlock[] = [{ number: 0, hash: keccak256(toUtf8Bytes("genesis")), logs: [] }];
  down = false;

  mine(logs: FakeLog[] = [], salt = "") {
    const number = this.blocks.length;
    const key = JSON.stringify(logs, (_, v) => (v instanceof Uint8Array ? hexlify(v) : v));
    this.blocks.push({ number, hash: keccak256(toUtf8Bytes(`${number}:${salt}:${key}`)), logs });
  }

  reorgFrom(height: number) {
    this.blocks = this.blocks.slice(0, height);
  }

  private check() {
    if (this.down) throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "ECONNREFUSED" });
  }

  /** The JSON-RPC methods the listener calls, answered as a node would (hex quantities). */
  provider(): JsonRpcProvider {
    const hex = (n: number) => `0x${n.toString(16)}`;
    const send = async (method: string, params: unknown[]): Promise<unknown> => {
      this.check();
      if (method === "eth_blockNumber") return hex(this.blocks.length - 1);
      if (method === "eth_getBlockByNumber") {
        const b = this.blocks[Number.parseInt(params[0] as string, 16)];
        return b ? { number: hex(b.number), hash: b.hash, parentHash: ZeroHash, timestamp: hex(b.number), transactions: [] } : null;
      }
      if (method === "eth_getLogs") {
        const filter = params[0] as { fromBlock: string; toBlock: string };
        return this.blocks
          .slice(Number.parseInt(filter.fromBlock, 16), Number.parseInt(filter.toBlock, 16) + 1)
          .flatMap((b) =>
            b.logs.map((l, index) => ({
              address: ADDRESS.toLowerCase(),
              topics: [l.topic0 ?? IFACE.getEvent("Ping")!.topicHash, zeroPadValue(toBeHex(l.id), 32)],
              data: l.data ?? AbiCoder.defaultAbiCoder().encode([typeof l.note === "string" ? "string" : "bytes"], [l.note]),
              blockNumber: hex(b.number),
              blockHash: b.hash,
              transactionHash: keccak256(toUtf8Bytes(`${b.hash}${index}`)),
              logIndex: hex(index),
              removed: false,
            })),
          );
      }
      throw new Error(`the fake chain has no ${method}`);
    };
    return { send } as unknown as JsonRpcProvider;
  }
}

function setup(chain: FakeChain, options: string[] = [], beforeApply?: (event: ChainEvent) => void) {
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
      // Stand in for the event applier: one tracked request per Ping, seen in its block.
      for (const e of events) {
        journal.trackRequest({ requestId: e.args.id as bigint, seenBlock: e.blockNumber, modelId: "1", prompt: e.args.note, promptHash: "0x", maxNewTokens: 1, deadline: 0 });
        beforeApply?.(e);
      }
      applied.push(...events);
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

  it("runs the rollback hook in the reorg's transaction: the stored events follow the journal, or neither moves", async function () {
    const chain = new FakeChain();
    for (let i = 1; i <= 6; i++) chain.mine([{ id: i, note: `old ${i}` }]);
    const db = openDatabase(":memory:");
    const journal = createJournal(db);
    const events = createChainEventLog(db);
    const logger = pino({ level: "silent" });
    const config = parseConfig({ argv: ["--block-range", "3"], env: {} }).config;
    const common: Common = { config, logger, metrics: createMetrics(), db, shutdown: createShutdown(logger) };
    let failRollback = true;
    const listener = createListener(common, {
      provider: chain.provider(),
      journal,
      contracts: [{ address: ADDRESS, iface: IFACE }],
      startBlock: 1,
      apply: (applied) => {
        for (const e of applied) {
          events.append({ block: e.blockNumber, logIndex: e.logIndex, txHash: e.transactionHash, address: e.address, name: e.name, topics: e.topics, data: e.data });
        }
      },
      rollback: (ancestor) => {
        events.dropAbove(ancestor);
        if (failRollback) throw new Error("disk full");
      },
    });
    await drain(listener);
    chain.reorgFrom(4);
    chain.mine([{ id: 4, note: "new 4" }], "fork");
    chain.mine([{ id: 5, note: "new 5" }], "fork");

    await listener.step().then(
      () => expect.fail("the failing rollback hook must fail the step"),
      (error: Error) => expect(error.message).to.include("disk full"),
    );
    expect(journal.processedBlock(), "the journal's rollback is undone with the hook's").to.equal(6);
    expect(events.after().map((e) => e.block)).to.deep.equal([1, 2, 3, 4, 5, 6]);

    failRollback = false;
    await drain(listener);
    expect(journal.processedBlock()).to.equal(5);
    const stored = events.after();
    expect(stored.map((e) => e.block)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(stored.slice(3).map((e) => e.data)).to.deep.equal(
      ["new 4", "new 5"].map((note) => AbiCoder.defaultAbiCoder().encode(["string"], [note])),
    );
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

  it("reads on past a text that is not UTF-8: shown with U+FFFD, flagged, the range not blocked", async function () {
    const chain = new FakeChain();
    chain.mine([{ id: 1, note: Uint8Array.from([0x48, 0x69, 0xff, 0xfe, 0x21]) }]);
    chain.mine([{ id: 2, note: "after" }]);
    const { listener, applied, journal } = setup(chain);
    await drain(listener);
    expect(journal.processedBlock()).to.equal(2);
    expect(applied.map((e) => [Number(e.args.id), e.args.note, e.invalidUtf8])).to.deep.equal([
      [1, "Hi\uFFFD\uFFFD!", ["note"]],
      [2, "after", []],
    ]);
    expect(listener.caughtUp()).to.equal(true);
  });

  it("records an event it cannot decode, with the reason, and applies the rest of its range", async function () {
    const chain = new FakeChain();
    chain.mine([{ id: 1, note: "", data: "0x1234" }, { id: 2, note: "fine" }]);
    const { listener, applied, journal, common } = setup(chain);
    await drain(listener);
    expect(applied.map((e) => Number(e.args.id))).to.deep.equal([2]);
    const skipped = journal.skippedEvents();
    expect(skipped).to.have.length(1);
    expect(skipped[0]).to.include({ block: 1, logIndex: 0, address: ADDRESS });
    expect(skipped[0].reason).to.match(/^undecodable: /);
    expect((await common.metrics.listenerSkippedEventsTotal.get()).values).to.deep.include({ value: 1, labels: { reason: "undecodable" } });
  });

  it("records an event its applier throws on and keeps the rest of the range (the applier's writes for it undone)", async function () {
    const chain = new FakeChain();
    chain.mine([{ id: 1, note: "boom" }, { id: 2, note: "fine" }]);
    const { listener, journal } = setup(chain, [], (e) => {
      if (e.args.note === "boom") throw new Error("applier bug");
    });
    await drain(listener);
    expect(journal.getRequest(1n)).to.equal(undefined);
    expect(journal.getRequest(2n)?.prompt).to.equal("fine");
    expect(journal.skippedEvents().map((s) => s.reason)).to.deep.equal(["apply failed: applier bug"]);
  });

  it("forgets skipped events of blocks a reorg dropped", async function () {
    const chain = new FakeChain();
    chain.mine();
    chain.mine([{ id: 1, note: "", data: "0x" }]);
    const { listener, journal } = setup(chain);
    await drain(listener);
    expect(journal.skippedEvents()).to.have.length(1);
    chain.reorgFrom(2);
    chain.mine([], "fork");
    chain.mine([], "fork");
    await drain(listener);
    expect(journal.skippedEvents()).to.deep.equal([]);
  });

  it("never stops on random payloads: every range is processed and every event applied or recorded (fuzz)", async function () {
    const seed = Number(process.env.LISTENER_FUZZ_SEED ?? Date.now() % 2 ** 31);
    const random = seededRandom(seed);
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
    const chain = new FakeChain();
    let logs = 0;
    for (let block = 1; block <= 40; block++) {
      const blockLogs: FakeLog[] = [];
      for (let i = Math.floor(random() * 4); i > 0; i--) {
        const id = ++logs;
        const kind = Math.floor(random() * 5);
        if (kind === 0) blockLogs.push({ id, note: bytes(Math.floor(random() * 40)) });
        else if (kind === 1) blockLogs.push({ id, note: "", data: hexlify(bytes(Math.floor(random() * 130))) });
        else if (kind === 2) {
          // A well-formed head pointing past the end, or a length beyond the data.
          const head = AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [BigInt(Math.floor(random() * 2 ** 40)), BigInt(Math.floor(random() * 2 ** 40))]);
          blockLogs.push({ id, note: "", data: head });
        } else if (kind === 3) {
          const codePoint = () => {
            const c = Math.floor(random() * 0x110000);
            return c >= 0xd800 && c <= 0xdfff ? c + 0x800 : c; // a lone surrogate has no UTF-8 form to send
          };
          blockLogs.push({ id, note: String.fromCodePoint(...Array.from({ length: 8 }, codePoint)) });
        }
        else blockLogs.push({ id, note: `ok ${id}` });
      }
      chain.mine(blockLogs);
    }
    const { listener, applied, journal } = setup(chain);
    try {
      await drain(listener);
      expect(journal.processedBlock()).to.equal(40);
      expect(applied.length + journal.skippedEvents().length).to.equal(logs);
      for (const e of applied) expect(e.args.note).to.be.a("string");
    } catch (error) {
      throw new Error(`listener fuzz failed (rerun: LISTENER_FUZZ_SEED=${seed}): ${(error as Error).message}`);
    }
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
