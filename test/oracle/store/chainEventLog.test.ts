import { expect } from "chai";
import { Result } from "ethers";
import { createChainEventLog, type StoredChainEvent } from "../../../oracle/src/store/chainEventLog";
import { openDatabase } from "../../../oracle/src/store/database";

const event = (block: number, logIndex: number, name = "ChatRequested"): StoredChainEvent => ({
  block,
  logIndex,
  txHash: `0x${block.toString(16).padStart(64, "0")}`,
  address: "0x00000000000000000000000000000000000000c0",
  name,
  topics: [`0x${"11".repeat(32)}`],
  data: "0x",
});
const positions = (events: StoredChainEvent[]) => events.map((e) => `${e.block}:${e.logIndex}`);

describe("store/chainEventLog", function () {
  it("returns events in chain order after a position, a re-read range replacing its rows", function () {
    const log = createChainEventLog(openDatabase(":memory:"));
    for (const e of [event(3, 1), event(3, 0), event(1, 0), event(3, 1)]) log.append(e);
    expect(positions(log.after())).to.deep.equal(["1:0", "3:0", "3:1"]);
    expect(positions(log.after({ block: 3, logIndex: 0 }))).to.deep.equal(["3:1"]);
    expect(log.after()[0].topics).to.deep.equal([`0x${"11".repeat(32)}`]);
  });

  it("hands the listener's decoding to the reader once, only for the row it decoded", function () {
    const log = createChainEventLog(openDatabase(":memory:"));
    const args = Result.fromItems([1n], ["requestId"]);
    log.append({ ...event(1, 0), args });
    log.append({ ...event(2, 0), args });
    // Block 2 read again (a rolled-back range re-read on another branch): another payload at the same position.
    log.append({ ...event(2, 0), data: "0x01" });
    const [first, second] = log.after();
    expect(first.args, "the listener's args, not decoded again").to.equal(args);
    expect(second.args, "not lent to a different event at the same position").to.equal(undefined);
    expect(log.after()[0].args, "once: a second read decodes from the row").to.equal(undefined);
    log.append({ ...event(3, 0), args });
    log.dropAbove(2);
    log.append(event(3, 0)); // the same log again, read without handing args over
    expect(log.after({ block: 2, logIndex: 0 })[0].args, "a reorg forgets what was handed over").to.equal(undefined);
  });

  it("prunes to the newest events and the age bound, never a model registration", function () {
    const log = createChainEventLog(openDatabase(":memory:"));
    log.append(event(1, 0, "ModelRegistered"));
    for (let block = 2; block <= 20; block++) log.append(event(block, 0));
    expect(log.prune({ maxEvents: 10 })).to.equal(9);
    expect(positions(log.after())).to.deep.equal(["1:0", ...Array.from({ length: 10 }, (_, i) => `${11 + i}:0`)]);
    expect(log.prune({ maxEvents: 10, minBlock: 18 })).to.equal(7);
    expect(positions(log.after())).to.deep.equal(["1:0", "18:0", "19:0", "20:0"]);
  });

  it("drops the events above a fork point and tells its subscribers", function () {
    const log = createChainEventLog(openDatabase(":memory:"));
    for (let block = 1; block <= 5; block++) log.append(event(block, 0));
    const told: number[] = [];
    const stop = log.onDropAbove((ancestor) => told.push(ancestor));
    expect(log.dropAbove(3)).to.equal(2);
    stop();
    log.dropAbove(1);
    expect(positions(log.after())).to.deep.equal(["1:0"]);
    expect(told).to.deep.equal([3]);
  });
});
