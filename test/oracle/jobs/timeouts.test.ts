import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { type JsonRpcProvider, ZeroHash, id } from "ethers";
import { createChatRegistryClient, idleMember, type MemberState, type OnChainRecord, RequestStatus } from "../../../oracle/src/chain/chatRegistry";
import { createHeadTracker } from "../../../oracle/src/chain/heads";
import { createSubmitter } from "../../../oracle/src/chain/submitter";
import { createTimeoutSweeper, nothingToSettle } from "../../../oracle/src/jobs/timeouts";
import { devAccount } from "../../../scripts/demo/accounts";
import { requestChatWithPromptBytes, runRequestToFinal } from "../http/fixture";
import { nodeOverChain } from "./fixtures";

const answer = id("answer");
const member = (state: Partial<MemberState>): MemberState => idleMember("0x00000000000000000000000000000000000000aa", state);
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

/** One node's sweeper over the in-process chain: the journal fed by the listener, calls paid by a funded dev key. */
async function sweeperOverChain() {
  const node = await nodeOverChain();
  const provider = ethers.provider as unknown as JsonRpcProvider;
  const registry = createChatRegistryClient(node.net.deployment.chatRecordRegistry, provider, node.common.metrics);
  const heads = createHeadTracker(node.common, provider);
  heads.start();
  const submitter = createSubmitter(node.common, provider, heads, devAccount(9));
  const sweeper = createTimeoutSweeper(node.common, { journal: node.journal, registry, submitter });
  return { ...node, registry, heads, sweeper };
}

describe("timeout sweeper over the chain", function () {
  it("calls timeout once the commit window passed without a quorum, and the chain reassigns the request", async function () {
    const { net, registry, heads, sweeper, journal, drain } = await sweeperOverChain();
    try {
      const requestId = await requestChatWithPromptBytes(net, ethers.toUtf8Bytes("nobody is online"));
      await drain();
      expect(await sweeper.sweep(), "before the commit deadline").to.equal(0);

      const first = await registry.getRecord(requestId);
      await time.increaseTo(first.commitDeadline + 1);
      expect(await sweeper.sweep()).to.equal(1);
      const reassigned = await registry.getRecord(requestId);
      expect(reassigned).to.include({ attempt: 2, status: RequestStatus.Requested });
      await drain();
      expect(journal.getRequest(requestId)).to.include({ open: true, deadline: reassigned.commitDeadline + 1 });
      expect(await sweeper.sweep(), "the new attempt's window is open").to.equal(0);
    } finally {
      await heads.stop();
    }
  });

  it("reads the chain before calling: a request another node already timed out gets the new attempt's deadline, no call", async function () {
    const { net, registry, heads, sweeper, journal, drain } = await sweeperOverChain();
    try {
      const requestId = await requestChatWithPromptBytes(net, ethers.toUtf8Bytes("someone else was faster"));
      await drain();
      await time.increaseTo((await registry.getRecord(requestId)).commitDeadline + 1);
      await (await net.chatRegistry.connect(net.user).timeout(requestId)).wait(); // not yet seen by the listener
      expect(await sweeper.sweep()).to.equal(0);
      const reassigned = await registry.getRecord(requestId);
      expect(reassigned.attempt).to.equal(2);
      expect(journal.getRequest(requestId)?.deadline).to.equal(reassigned.commitDeadline + 1);
    } finally {
      await heads.stop();
    }
  });

  it("settles a finalized request with a dissenting member after its reveal deadline, and closes one every member agreed on", async function () {
    const { net, registry, heads, sweeper, journal, drain } = await sweeperOverChain();
    try {
      const dissent = await runRequestToFinal(net, "settle me", { dissent: true });
      const agreed = await runRequestToFinal(net, "nothing to settle");
      await drain();
      const deadlines = await Promise.all([dissent, agreed].map(async ({ requestId }) => (await registry.getRecord(requestId)).revealDeadline));
      await time.increaseTo(Math.max(...deadlines) + 1);

      expect(await sweeper.sweep()).to.equal(1);
      expect((await registry.getRecord(dissent.requestId)).settled).to.equal(true);
      expect((await registry.getRecord(agreed.requestId)).settled).to.equal(false);
      expect(journal.getRequest(agreed.requestId)?.open, "closed without a call").to.equal(false);
      await drain();
      expect(journal.getRequest(dissent.requestId)?.open, "closed by its RequestSettled event").to.equal(false);
      expect(await sweeper.sweep()).to.equal(0);
    } finally {
      await heads.stop();
    }
  });
});
