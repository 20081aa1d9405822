import { expect } from "chai";
import { id, Result, Wallet } from "ethers";
import type { IndexedEvent } from "../../../oracle/src/http/chainIndex";
import { latencyOf, statusFromEvents, timelineOf, validatorActivity } from "../../../oracle/src/http/eventViews";

const [A, B, C] = [0, 1, 2].map(() => Wallet.createRandom().address);
let logIndex = 0;
function event(name: string, block: number, args: Record<string, unknown>): IndexedEvent {
  return {
    name,
    args: Result.fromItems(Object.values(args), Object.keys(args)),
    contract: "chatRecordRegistry",
    block,
    txHash: id(`${name}${block}${logIndex}`),
    logIndex: logIndex++,
  };
}
const requested = (block: number, committee = [A, B, C]) => event("ChatRequested", block, { requestId: 1n, committee, attempt: 1n });
const committed = (block: number, validator: string) => event("ResponseCommitted", block, { requestId: 1n, validator });
const revealed = (block: number, validator: string) => event("ResponseRevealed", block, { requestId: 1n, validator, responseHash: id("r") });

describe("event views", () => {
  it("follows a request from requested through committed and revealed to finalized", () => {
    const events = [requested(1)];
    expect(statusFromEvents(events)).to.equal("requested");
    events.push(committed(2, A), committed(2, B));
    expect(statusFromEvents(events)).to.equal("requested");
    events.push(committed(3, C));
    expect(statusFromEvents(events)).to.equal("committed");
    events.push(revealed(4, A));
    expect(statusFromEvents(events)).to.equal("revealed");
    events.push(event("RecordFinalized", 5, { requestId: 1n, responseHash: id("r") }));
    expect(statusFromEvents(events)).to.equal("finalized");
    expect(latencyOf(events, (block) => 100 + block * 2)).to.equal(8);
    expect(latencyOf(events, () => undefined)).to.equal(null);
  });

  it("starts over on reassignment, and ends timed out or refunded", () => {
    const events = [requested(1, [A]), committed(2, A), event("MemberSlashed", 9, { requestId: 1n, validator: A, reason: 1n, amount: 5n })];
    events.push(event("RequestTimedOut", 9, { requestId: 1n, attempt: 1n, exhausted: false }));
    events.push(event("CommitteeReassigned", 9, { requestId: 1n, committee: [B], attempt: 2n }));
    expect(statusFromEvents(events)).to.equal("requested"); // A's commit belongs to the old attempt
    events.push(event("RequestTimedOut", 20, { requestId: 1n, attempt: 2n, exhausted: true }));
    expect(statusFromEvents(events)).to.equal("timed_out");
    events.push(event("RequestRefunded", 21, { requestId: 1n, requester: C, amount: 7n }));
    expect(statusFromEvents(events)).to.equal("refunded");
    expect(timelineOf(events, () => undefined).map((e) => e.type)).to.deep.equal([
      "requested",
      "committed",
      "slashed",
      "timed_out",
      "reassigned",
      "timed_out",
      "refunded",
    ]);
    const slash = timelineOf(events, () => 42).find((e) => e.type === "slashed")!;
    expect(slash).to.include({ reason: "missed_reveal", amount: "5", validator: A, timestamp: 42 });
  });

  it("counts seats per validator across first draws and reassignments, and keeps the last commit and reveal", () => {
    const events = [
      requested(1, [A, B]),
      committed(2, A),
      committed(3, A),
      revealed(4, B),
      event("CommitteeReassigned", 5, { requestId: 1n, committee: [A, C], attempt: 2n }),
      event("MemberSlashed", 5, { requestId: 1n, validator: B, reason: 0n, amount: 5n }),
    ];
    const activity = validatorActivity(events);
    expect(activity).to.include({ requests: 1, committees: 2, totalSeats: 4 });
    expect([...activity.committeesBySize]).to.deep.equal([[2, 2]]);
    expect(activity.seats.get(A.toLowerCase())).to.equal(2);
    expect(activity.seats.get(B.toLowerCase())).to.equal(1);
    expect(activity.lastCommit.get(A.toLowerCase())!.block).to.equal(3);
    expect(activity.lastReveal.get(B.toLowerCase())!.block).to.equal(4);
    expect(activity.slashes.get(B.toLowerCase())).to.have.length(1);
  });
});
