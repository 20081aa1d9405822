import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  COMMIT_WINDOW, DeclineReason, MINIMUM_FEE, MODEL_ID, REVEAL_WINDOW, Status, UNIT, commitmentOf, deploySystem, drawCommittee,
  requestChat, responseHashOf,
} from "./fixtures";

// Edges of the request lifecycle and of conversation threads that the main suites do not reach: declines that
// complete a committee without a quorum, late declines by members that already acted, reveals on ended requests,
// seeds lost before anyone drew, callbacks escrowed at gas price 0, and the thread membership registry itself.

const SALT = ethers.id("edge salt");
const ANSWER = "Paris.";

type System = Awaited<ReturnType<typeof deploySystem>>;

const committee3 = () => deploySystem({ committeeSize: 3, quorum: 2, maxAttempts: 2, validatorCount: 5 });
const committee1 = () => deploySystem({ committeeSize: 1, quorum: 1, maxAttempts: 1, validatorCount: 3 });

async function requestAndDraw(sys: System) {
  const requestId = await requestChat(sys);
  return { requestId, members: await drawCommittee(sys, requestId) };
}

function commit(sys: System, requestId: bigint, member: HardhatEthersSigner) {
  return sys.chat.connect(member).commitResponse(requestId, commitmentOf(requestId, member.address, ANSWER, SALT));
}

describe("ChatRecordRegistry edges", function () {
  describe("declines", function () {
    it("a decline from the last silent seat, short of a decline quorum, ends the commit phase and opens reveals", async function () {
      const sys = await loadFixture(committee3);
      const { requestId, members: [a, b, c] } = await requestAndDraw(sys);
      await commit(sys, requestId, a);
      await commit(sys, requestId, b);
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.Requested);
      await expect(sys.chat.connect(c).declineRequest(requestId, DeclineReason.ModelUnavailable))
        .to.emit(sys.chat, "ResponseDeclined").withArgs(requestId, c.address, DeclineReason.ModelUnavailable);
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.Committed);
      // Every seat has acted: reveals need not wait for the commit deadline.
      await expect(sys.chat.connect(a).revealResponse(requestId, ANSWER, SALT))
        .to.emit(sys.chat, "ResponseRevealed").withArgs(requestId, a.address, responseHashOf(ANSWER), ANSWER);
    });

    it("a member that committed or declined cannot decline again once a quorum declined", async function () {
      const sys = await loadFixture(committee3);
      const { requestId, members: [a, b, c] } = await requestAndDraw(sys);
      await commit(sys, requestId, c);
      await sys.chat.connect(a).declineRequest(requestId, DeclineReason.PromptTooLong);
      await expect(sys.chat.connect(b).declineRequest(requestId, DeclineReason.PromptTooLong)).to.emit(sys.chat, "RequestDeclined");
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.Declined);
      const creditOfC = await sys.chat.creditOf(c.address);
      for (const member of [c, a]) {
        await expect(sys.chat.connect(member).declineRequest(requestId, DeclineReason.InvalidPrompt))
          .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryAlreadyCommitted").withArgs(requestId, member.address);
      }
      expect(await sys.chat.creditOf(c.address)).to.equal(creditOfC);
    });
  });

  describe("reveals on ended requests", function () {
    it("reverts a reveal on a declined request with its status", async function () {
      const sys = await loadFixture(committee3);
      const { requestId, members: [a, b, c] } = await requestAndDraw(sys);
      await commit(sys, requestId, c);
      await sys.chat.connect(a).declineRequest(requestId, DeclineReason.PromptTooLong);
      await sys.chat.connect(b).declineRequest(requestId, DeclineReason.PromptTooLong);
      await expect(sys.chat.connect(c).revealResponse(requestId, ANSWER, SALT))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidStatus").withArgs(requestId, Status.Declined);
    });

    it("reverts a reveal on a timed-out request with its status", async function () {
      const sys = await loadFixture(committee1);
      const { requestId, members: [member] } = await requestAndDraw(sys);
      await commit(sys, requestId, member);
      await time.increase(COMMIT_WINDOW + REVEAL_WINDOW + 1);
      await sys.chat.timeout(requestId);
      await expect(sys.chat.connect(member).revealResponse(requestId, ANSWER, SALT))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidStatus").withArgs(requestId, Status.TimedOut);
    });
  });

  describe("timeout", function () {
    it("slashes nobody when the seed was lost before anyone drew, and refunds the requester", async function () {
      const sys = await loadFixture(committee1);
      const requestId = await requestChat(sys);
      await mine(257, { interval: 1 }); // the seed block leaves the 256-block blockhash window
      await time.increase(COMMIT_WINDOW + 1);
      const tx = sys.chat.connect(sys.outsider).timeout(requestId);
      await expect(tx).to.emit(sys.chat, "RequestTimedOut").withArgs(requestId, 1, true);
      await expect(tx).not.to.emit(sys.chat, "MemberSlashed");
      await expect(tx).not.to.emit(sys.chat, "CommitteeDrawn");
      expect(await sys.chat.getMembers(requestId)).to.deep.equal([]);
      expect(await sys.chat.creditOf(sys.requester.address)).to.equal(MINIMUM_FEE);
      for (const v of sys.validators) expect(await sys.registry.stakeOf(v.address)).to.equal(1000n * UNIT);
    });
  });

  describe("fees and callback escrow", function () {
    it("reverts a request whose value does not cover the callback escrow, naming fee 0 and the escrow", async function () {
      const sys = await loadFixture(committee1);
      const consumer = await ethers.deployContract("ExampleChatConsumer", [await sys.chat.getAddress()]);
      const gasLimit = 100_000;
      const price = 10n ** 9n;
      const escrow = BigInt(gasLimit) * price;
      await expect(
        sys.chat.connect(sys.requester).requestChat(MODEL_ID, ethers.toUtf8Bytes("Hi"), 32, await consumer.getAddress(), gasLimit, price, { value: escrow - 1n }),
      ).to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryFeeTooLow").withArgs(0n, escrow, MINIMUM_FEE);
    });

    it("a callback escrowed at gas price 0 is delivered and reimburses nothing", async function () {
      const sys = await loadFixture(committee1);
      const consumer = await ethers.deployContract("ExampleChatConsumer", [await sys.chat.getAddress()], sys.requester);
      await consumer.ask(MODEL_ID, "Capital of France?", 32, 0, { value: MINIMUM_FEE });
      const requestId = await sys.chat.requestCount();
      const [member] = await drawCommittee(sys, requestId);
      const tx = sys.chat.connect(member).respond(requestId, ANSWER);
      await expect(tx).to.emit(consumer, "AnswerReceived").withArgs(requestId, responseHashOf(ANSWER));
      await expect(tx).to.emit(sys.chat, "CallbackReimbursed").withArgs(requestId, member.address, anyValue, 0n);
      // The member earns the fee only; the requester gets no leftover escrow (there was none).
      expect(await sys.chat.creditOf(member.address)).to.equal(MINIMUM_FEE);
      expect(await sys.chat.creditOf(await consumer.getAddress())).to.equal(0n);
    });
  });

  describe("thread membership (ChatThreads)", function () {
    async function finalizedRoot() {
      const sys = await committee1();
      const rootId = await requestChat(sys, { prompt: "Hi" });
      const [member] = await drawCommittee(sys, rootId);
      await sys.chat.connect(member).respond(rootId, "Hello!");
      const threads = await ethers.getContractAt("ChatThreads", await sys.chat.threadsContract());
      return { sys, rootId, threads };
    }

    it("is deployed by the registry and points back to it", async function () {
      const { sys, threads } = await loadFixture(finalizedRoot);
      expect(await threads.registry()).to.equal(await sys.chat.getAddress());
    });

    it("counts the owner as a member of every turn of its thread, and others only once allowed", async function () {
      const { sys, rootId, threads } = await loadFixture(finalizedRoot);
      await sys.chat.connect(sys.requester).requestChatFollowUp(rootId, ethers.toUtf8Bytes("More"), 32, ethers.ZeroAddress, 0, 0, { value: MINIMUM_FEE });
      const turn = await sys.chat.requestCount();
      for (const id of [rootId, turn]) {
        expect(await threads.isThreadMember(id, sys.requester.address), `owner on ${id}`).to.equal(true);
        expect(await threads.isThreadMember(id, sys.outsider.address), `outsider on ${id}`).to.equal(false);
      }
      // Allowing through a later turn allows on the whole thread.
      await expect(threads.connect(sys.requester).setThreadMember(turn, sys.outsider.address, true))
        .to.emit(threads, "ThreadMemberSet").withArgs(rootId, sys.outsider.address, true);
      expect(await threads.isThreadMember(rootId, sys.outsider.address)).to.equal(true);
    });

    it("reverts allowing the zero address", async function () {
      const { sys, rootId, threads } = await loadFixture(finalizedRoot);
      await expect(threads.connect(sys.requester).setThreadMember(rootId, ethers.ZeroAddress, true))
        .to.be.revertedWithCustomError(threads, "ChatThreadsZeroAddress");
    });

    it("reverts setting a member of an unknown request with the registry's error", async function () {
      const { sys, threads } = await loadFixture(finalizedRoot);
      await expect(threads.connect(sys.requester).setThreadMember(42n, sys.outsider.address, true))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryUnknownRequest").withArgs(42n);
    });
  });
});
