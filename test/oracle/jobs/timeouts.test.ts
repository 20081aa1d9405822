import { expect } from "chai";
import { ZeroHash, id } from "ethers";
import type { MemberState, OnChainRecord } from "../../../oracle/src/chain/chatRegistry";
import { RequestStatus } from "../../../oracle/src/chain/chatRegistry";
import { nothingToSettle } from "../../../oracle/src/jobs/timeouts";

const answer = id("answer");
const member = (state: Partial<MemberState>): MemberState => ({
  validator: "0x00000000000000000000000000000000000000aa",
  committed: false,
  revealed: false,
  declined: false,
  commitment: ZeroHash,
  responseHash: ZeroHash,
  ...state,
});
const record = (status: number) => ({ status, responseHash: status === RequestStatus.Finalized ? answer : ZeroHash }) as OnChainRecord;

describe("timeout sweeper: settle", function () {
  it("skips settle when every member revealed the final answer or every member declined", function () {
    const agreed = member({ committed: true, revealed: true, responseHash: answer });
    expect(nothingToSettle(record(RequestStatus.Finalized), [agreed, agreed, agreed])).to.equal(true);
    expect(nothingToSettle(record(RequestStatus.Declined), [member({ declined: true }), member({ declined: true })])).to.equal(true);
  });

  it("settles when a member did not reveal, dissented, did not take part, or committed against a decline", function () {
    const agreed = member({ committed: true, revealed: true, responseHash: answer });
    const finalized = record(RequestStatus.Finalized);
    expect(nothingToSettle(finalized, [agreed, agreed, member({ committed: true })])).to.equal(false);
    expect(nothingToSettle(finalized, [agreed, agreed, member({ committed: true, revealed: true, responseHash: id("other") })])).to.equal(false);
    expect(nothingToSettle(finalized, [agreed, agreed, member({})])).to.equal(false);
    const declined = record(RequestStatus.Declined);
    expect(nothingToSettle(declined, [member({ declined: true }), member({ declined: true }), member({ committed: true })])).to.equal(false);
    expect(nothingToSettle(declined, [])).to.equal(false);
  });
});
