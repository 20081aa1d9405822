import { expect } from "chai";
import { id, Result, Wallet } from "ethers";
import type { IndexedEvent } from "../../../oracle/src/http/chainIndex";
import { currentAttempt, currentCommittee, latencyOf, statusFromEvents, timelineOf, validatorActivity } from "../../../oracle/src/http/eventViews";

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
const requested = (block: number) => event("ChatRequested", block, { requestId: 1n, promptHash: id("p"), seedBlock: BigInt(block) });
const drawn = (block: number, committee = [A, B, C], attempt = 1n) => event("CommitteeDrawn", block, { requestId: 1n, attempt, committee });
const committed = (block: number, validator: string) => event("ResponseCommitted", block, { requestId: 1n, validator });
const revealed = (block: number, validator: string) => event("ResponseRevealed", block, { requestId: 1n, validator, responseHash: id("r") });

describe("event views", () => {
  it("follows a request from requested through drawn, committed and revealed to finalized", () => {
    const events = [requested(1)];
    expect(statusFromEvents(events)).to.equal("requested");
    expect(currentCommittee(events)).to.deep.equal([]);
    events.push(drawn(2), committed(2, A), committed(2, B));
    expect(currentCommittee(events)).to.deep.equal([A, B, C]);
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

  it("starts over on reassignment, and ends timed out", () => {
    const events = [requested(1), drawn(2, [A]), committed(2, A), event("MemberSlashed", 9, { requestId: 1n, validator: A, reason: 1n, amount: 5n })];
    events.push(event("RequestTimedOut", 9, { requestId: 1n, attempt: 1n, exhausted: false }));
    events.push(event("CommitteeReassigned", 9, { requestId: 1n, attempt: 2n, seedBlock: 9n }));
    expect(statusFromEvents(events)).to.equal("requested"); // A's commit belongs to the old attempt
    expect(currentAttempt(events)).to.equal(2);
    expect(currentCommittee(events)).to.deep.equal([]); // not drawn yet for attempt 2
    events.push(drawn(10, [B], 2n));
    expect(currentCommittee(events)).to.deep.equal([B]);
    events.push(event("RequestTimedOut", 20, { requestId: 1n, attempt: 2n, exhausted: true }));
    expect(statusFromEvents(events)).to.equal("timed_out");
    expect(timelineOf(events, () => undefined).map((e) => e.type)).to.deep.equal([
      "requested",
      "drawn",
      "committed",
      "slashed",
      "timed_out",
      "reassigned",
      "drawn",
      "timed_out",
    ]);
    const slash = timelineOf(events, () => 42).find((e) => e.type === "slashed")!;
    expect(slash).to.include({ reason: "missed_reveal", amount: "5", validator: A, timestamp: 42 });
  });

  it("ends declined when a quorum declines, with each decline's reason and the settlement's refund", () => {
    const events = [requested(1), drawn(2, [A, B, C])];
    events.push(event("ResponseDeclined", 2, { requestId: 1n, validator: A, reason: 0n }));
    events.push(event("ResponseDeclined", 3, { requestId: 1n, validator: B, reason: 0n }));
    events.push(event("RequestDeclined", 3, { requestId: 1n, decliners: [A, B] }));
    expect(statusFromEvents(events)).to.equal("declined");
    events.push(event("MemberSlashed", 9, { requestId: 1n, validator: C, reason: 0n, amount: 5n }));
    events.push(event("RequestSettled", 9, { requestId: 1n, refund: 0n }));
    const timeline = timelineOf(events, () => undefined);
    expect(timeline.map((e) => e.type)).to.deep.equal(["requested", "drawn", "declined", "declined", "request_declined", "slashed", "settled"]);
    expect(timeline[2]).to.include({ validator: A, reason: "prompt_too_long" });
    expect(timeline[1].committee).to.deep.equal([A, B, C]);
    expect(timeline.at(-1)).to.include({ amount: "0" });
  });

  it("counts seats per validator across first draws and reassignments, and keeps the last commit and reveal", () => {
    const events = [
      requested(1),
      drawn(1, [A, B]),
      committed(2, A),
      committed(3, A),
      revealed(4, B),
      event("CommitteeReassigned", 5, { requestId: 1n, attempt: 2n, seedBlock: 5n }),
      drawn(6, [A, C], 2n),
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
