import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  COMMIT_WINDOW, MINIMUM_FEE, MODEL_HASH, MODEL_ID, REVEAL_WINDOW, SLASH_AMOUNT, SlashReason, Status, UNIT,
  commitmentOf, deploySystem, responseHashOf,
} from "./fixtures";

const PROMPT = "What is the capital of France?";
const ANSWER = "Paris.";
const SALT = ethers.id("salt");

async function deployFixture() {
  return deploySystem({ committeeSize: 3, quorum: 2, maxAttempts: 2, validatorCount: 5 });
}

type System = Awaited<ReturnType<typeof deployFixture>>;

async function requestFrom(sys: System, options: { consumer?: string; gas?: number; fee?: bigint; from?: HardhatEthersSigner } = {}) {
  const from = options.from ?? sys.requester;
  await sys.chat.connect(from).requestChat(MODEL_ID, PROMPT, 32, options.consumer ?? ethers.ZeroAddress, options.gas ?? 0, { value: options.fee ?? MINIMUM_FEE });
  const requestId = await sys.chat.requestCount();
  const committee = [...(await sys.chat.getRecord(requestId)).committee];
  return { requestId, committee, members: committee.map((a) => sys.byAddress.get(a)!) };
}

async function commit(sys: System, requestId: bigint, member: HardhatEthersSigner, text = ANSWER) {
  return sys.chat.connect(member).commitResponse(requestId, commitmentOf(requestId, member.address, text, SALT));
}

describe("ChatRecordRegistry", function () {
  describe("models and config", function () {
    it("registers, updates and guards models", async function () {
      const { chat, outsider } = await loadFixture(deployFixture);
      expect((await chat.getModel(MODEL_ID)).modelHash).to.equal(MODEL_HASH);
      await expect(chat.registerModel(MODEL_ID, MODEL_HASH, "x")).to.be.revertedWithCustomError(chat, "ChatRecordRegistryModelExists").withArgs(MODEL_ID);
      await expect(chat.registerModel(2, ethers.ZeroHash, "x")).to.be.revertedWithCustomError(chat, "ChatRecordRegistryZeroModelHash").withArgs(2);
      await expect(chat.registerModel(2, MODEL_HASH, "uri")).to.emit(chat, "ModelRegistered").withArgs(2, MODEL_HASH, "uri");
      await expect(chat.updateModel(2, false, "uri2")).to.emit(chat, "ModelUpdated").withArgs(2, false, "uri2");
      await expect(chat.updateModel(9, true, "")).to.be.revertedWithCustomError(chat, "ChatRecordRegistryUnknownModel").withArgs(9);
      await expect(chat.connect(outsider).registerModel(3, MODEL_HASH, ""))
        .to.be.revertedWithCustomError(chat, "OwnableUnauthorizedAccount").withArgs(outsider.address);
      await expect(chat.connect(outsider).updateModel(2, true, "taken over"))
        .to.be.revertedWithCustomError(chat, "OwnableUnauthorizedAccount").withArgs(outsider.address);
      expect((await chat.getModel(2)).enabled).to.equal(false);
    });

    it("validates the config", async function () {
      const { chat, config, outsider } = await loadFixture(deployFixture);
      await expect(chat.setConfig({ ...config, committeeSize: 4, quorum: 2 }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryInvalidConfig").withArgs(4, 2, config.maxAttempts);
      await expect(chat.setConfig({ ...config, committeeSize: 9, quorum: 5 }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryInvalidConfig").withArgs(9, 5, config.maxAttempts);
      await expect(chat.setConfig({ ...config, committeeSize: 0, quorum: 0 }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryInvalidConfig").withArgs(0, 0, config.maxAttempts);
      await expect(chat.setConfig({ ...config, committeeSize: 3, quorum: 4 }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryInvalidConfig").withArgs(3, 4, config.maxAttempts);
      await expect(chat.setConfig({ ...config, maxAttempts: 0 }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryInvalidConfig").withArgs(3, 2, 0);
      await expect(chat.setConfig({ ...config, slashAmount: UNIT + 1n }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistrySlashAmountNotWholeUnits").withArgs(UNIT + 1n, UNIT);
      await expect(chat.setConfig({ ...config, committeeSize: 1, quorum: 1 }))
        .to.emit(chat, "ConfigUpdated").withArgs(config.minimumFee, config.slashAmount, 1, 1, config.maxAttempts);
      expect((await chat.getConfig()).committeeSize).to.equal(1n);
      await expect(chat.connect(outsider).setConfig(config))
        .to.be.revertedWithCustomError(chat, "OwnableUnauthorizedAccount").withArgs(outsider.address);
      expect((await chat.getConfig()).committeeSize).to.equal(1n);
      expect(await chat.commitWindow()).to.equal(BigInt(COMMIT_WINDOW));
      expect(await chat.revealWindow()).to.equal(BigInt(REVEAL_WINDOW));
    });

    it("reverts on zero addresses at deployment", async function () {
      const { chat, registry, config, owner } = await loadFixture(deployFixture);
      const factory = await ethers.getContractFactory("ChatRecordRegistry");
      await expect(factory.deploy(await registry.getAddress(), ethers.ZeroAddress, 1, 1, config, owner.address))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryZeroAddress");
      await expect(factory.deploy(ethers.ZeroAddress, await chat.randomnessSource(), 1, 1, config, owner.address))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryZeroAddress");
      expect(await chat.validatorRegistry()).to.equal(await registry.getAddress());
    });
  });

  describe("requestChat", function () {
    it("draws a committee in the same transaction and emits everything a node needs", async function () {
      const sys = await loadFixture(deployFixture);
      const tx = sys.chat.connect(sys.requester).requestChat(MODEL_ID, PROMPT, 32, ethers.ZeroAddress, 0, { value: MINIMUM_FEE });
      const now = BigInt(await time.latest()) + 1n;
      await expect(tx).to.emit(sys.chat, "ChatRequested").withArgs(
        1n, sys.requester.address, MODEL_ID, PROMPT, responseHashOf(PROMPT), 32, anyValue, 1,
        now + BigInt(COMMIT_WINDOW), now + BigInt(COMMIT_WINDOW + REVEAL_WINDOW),
      );
      const record = await sys.chat.getRecord(1);
      expect(record.status).to.equal(Status.Requested);
      expect(record.promptHash).to.equal(responseHashOf(PROMPT));
      expect(record.modelHash).to.equal(MODEL_HASH);
      expect(record.fee).to.equal(MINIMUM_FEE);
      expect(new Set(record.committee).size).to.equal(3);
      expect(await sys.chat.phaseDeadlines(1)).to.deep.equal([record.commitDeadline, record.revealDeadline]);
    });

    it("rejects bad requests with the failing values", async function () {
      const { chat, requester, owner } = await loadFixture(deployFixture);
      const c = chat.connect(requester);
      await expect(c.requestChat(7, PROMPT, 32, ethers.ZeroAddress, 0, { value: MINIMUM_FEE }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryUnknownModel").withArgs(7);
      await chat.connect(owner).updateModel(MODEL_ID, false, "");
      await expect(c.requestChat(MODEL_ID, PROMPT, 32, ethers.ZeroAddress, 0, { value: MINIMUM_FEE }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryModelDisabled").withArgs(MODEL_ID);
      await chat.connect(owner).updateModel(MODEL_ID, true, "");
      await expect(c.requestChat(MODEL_ID, "", 32, ethers.ZeroAddress, 0, { value: MINIMUM_FEE }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryEmptyPrompt");
      await expect(c.requestChat(MODEL_ID, PROMPT, 0, ethers.ZeroAddress, 0, { value: MINIMUM_FEE }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryZeroMaxNewTokens");
      await expect(c.requestChat(MODEL_ID, PROMPT, 32, ethers.ZeroAddress, 5_000_001, { value: MINIMUM_FEE }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryCallbackGasLimitTooHigh").withArgs(5_000_001, 5_000_000);
      await expect(c.requestChat(MODEL_ID, PROMPT, 32, ethers.ZeroAddress, 0, { value: MINIMUM_FEE - 1n }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryFeeTooLow").withArgs(MINIMUM_FEE - 1n, MINIMUM_FEE);
      const tooHigh = 2n ** 64n;
      await expect(c.requestChat(MODEL_ID, PROMPT, 32, ethers.ZeroAddress, 0, { value: tooHigh }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryFeeTooHigh").withArgs(tooHigh, tooHigh - 1n);
    });

    it("reverts when the pool is smaller than the committee", async function () {
      const sys = await loadFixture(deployFixture);
      for (const v of sys.validators.slice(0, 3)) await sys.registry.connect(v).requestUnstake(1000n * UNIT);
      await expect(sys.chat.connect(sys.requester).requestChat(MODEL_ID, PROMPT, 32, ethers.ZeroAddress, 0, { value: MINIMUM_FEE }))
        .to.be.revertedWithCustomError(sys.registry, "ValidatorRegistryNotEnoughValidators").withArgs(3, 2);
    });

    it("lists records by requester, newest first, with a cursor", async function () {
      const sys = await loadFixture(deployFixture);
      await requestFrom(sys);
      await requestFrom(sys, { from: sys.outsider });
      await requestFrom(sys);
      await requestFrom(sys);
      const [firstPage, cursor] = await sys.chat.requestsOf(sys.requester.address, 0, 2);
      expect(firstPage).to.deep.equal([4n, 3n]);
      const [secondPage, end] = await sys.chat.requestsOf(sys.requester.address, cursor, 5);
      expect(secondPage).to.deep.equal([1n]);
      expect(end).to.equal(0n);
      await expect(sys.chat.requestsOf(sys.requester.address, 2, 5))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryUnknownRequest").withArgs(2);
      await expect(sys.chat.getRecord(99)).to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryUnknownRequest").withArgs(99);
      // Requesters are stored as ids: each record maps back to its own address, and an account that never asked
      // has an empty list and cannot walk someone else's.
      expect((await sys.chat.getRecord(2)).requester).to.equal(sys.outsider.address);
      expect((await sys.chat.getRecord(3)).requester).to.equal(sys.requester.address);
      const [strangerPage, strangerEnd] = await sys.chat.requestsOf(sys.treasury.address, 0, 5);
      expect(strangerPage).to.deep.equal([]);
      expect(strangerEnd).to.equal(0n);
      await expect(sys.chat.requestsOf(sys.treasury.address, 1, 5))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryUnknownRequest").withArgs(1);
    });
  });

  describe("commit and reveal", function () {
    it("finalizes at quorum inside the reveal, pays the agreeing members and slashes the dissenter", async function () {
      const sys = await loadFixture(deployFixture);
      const { requestId, members } = await requestFrom(sys, { fee: MINIMUM_FEE + 1n });
      await expect(commit(sys, requestId, members[0])).to.emit(sys.chat, "ResponseCommitted")
        .withArgs(requestId, members[0].address, commitmentOf(requestId, members[0].address, ANSWER, SALT));
      await commit(sys, requestId, members[1], "London.");
      await commit(sys, requestId, members[2]);
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.Committed);
      await expect(sys.chat.connect(members[1]).revealResponse(requestId, "London.", SALT))
        .to.emit(sys.chat, "ResponseRevealed").withArgs(requestId, members[1].address, responseHashOf("London."), "London.");
      await sys.chat.connect(members[0]).revealResponse(requestId, ANSWER, SALT);
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.Revealed);
      const tx = sys.chat.connect(members[2]).revealResponse(requestId, ANSWER, SALT);
      await expect(tx).to.emit(sys.chat, "RecordFinalized")
        .withArgs(requestId, responseHashOf(ANSWER), MODEL_ID, [members[0].address, members[2].address]);
      await expect(tx).to.emit(sys.chat, "MemberSlashed").withArgs(requestId, members[1].address, SlashReason.Dissent, SLASH_AMOUNT);
      const record = await sys.chat.getRecord(requestId);
      expect(record.status).to.equal(Status.Finalized);
      expect(record.responseHash).to.equal(responseHashOf(ANSWER));
      expect(await sys.chat.pendingRewards(members[0].address)).to.equal(MINIMUM_FEE / 2n + 1n);
      expect(await sys.chat.pendingRewards(members[2].address)).to.equal(MINIMUM_FEE / 2n);
      expect(await sys.registry.stakeOf(members[1].address)).to.equal(1000n * UNIT - SLASH_AMOUNT);
      const states = await sys.chat.getMembers(requestId);
      expect(states.map((m) => m.revealed)).to.deep.equal([true, true, true]);
      expect(states[1].responseHash).to.equal(responseHashOf("London."));
      await expect(sys.chat.connect(members[0]).withdrawRewards())
        .to.emit(sys.chat, "RewardsWithdrawn").withArgs(members[0].address, MINIMUM_FEE / 2n + 1n);
      await expect(sys.chat.connect(members[0]).withdrawRewards())
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryNothingToWithdraw").withArgs(members[0].address);
      await expect(commit(sys, requestId, members[0]))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidStatus").withArgs(requestId, Status.Finalized);
    });

    it("rejects commits from non-members, twice, after the deadline, and for unknown requests", async function () {
      const sys = await loadFixture(deployFixture);
      const { requestId, members } = await requestFrom(sys);
      await expect(commit(sys, requestId, sys.outsider))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryNotCommitteeMember").withArgs(requestId, sys.outsider.address);
      await commit(sys, requestId, members[0]);
      await expect(commit(sys, requestId, members[0]))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryAlreadyCommitted").withArgs(requestId, members[0].address);
      await expect(commit(sys, 42n, members[0]))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryUnknownRequest").withArgs(42n);
      const { commitDeadline } = await sys.chat.getRecord(requestId);
      await time.increaseTo(commitDeadline + 1n);
      await expect(commit(sys, requestId, members[1]))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryCommitPhaseClosed").withArgs(requestId, commitDeadline, commitDeadline + 2n);
    });

    it("rejects a validator that sat on an earlier committee but not on this committee of one", async function () {
      const sys = await loadFixture(deployFixture);
      await sys.chat.setConfig({ ...sys.config, committeeSize: 1, quorum: 1 });
      const earlier = await requestFrom(sys); // gives the earlier member a validator id
      // Request until another validator is drawn: the earlier member then has an id but no seat.
      let current = await requestFrom(sys);
      while (current.committee[0] === earlier.committee[0]) current = await requestFrom(sys);
      await expect(commit(sys, current.requestId, earlier.members[0]))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryNotCommitteeMember")
        .withArgs(current.requestId, earlier.committee[0]);
      await commit(sys, current.requestId, sys.byAddress.get(current.committee[0])!);
    });

    it("rejects reveals without commit, early, twice, by non-members, with the wrong text and late", async function () {
      const sys = await loadFixture(deployFixture);
      const { requestId, members } = await requestFrom(sys);
      const record = await sys.chat.getRecord(requestId);
      await commit(sys, requestId, members[0]);
      await commit(sys, requestId, members[1]);
      await expect(sys.chat.connect(members[0]).revealResponse(requestId, ANSWER, SALT))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryRevealPhaseNotOpen").withArgs(requestId, record.commitDeadline, anyValue);
      await expect(sys.chat.connect(members[2]).revealResponse(requestId, ANSWER, SALT))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryNotCommitted").withArgs(requestId, members[2].address);
      await expect(sys.chat.connect(sys.outsider).revealResponse(requestId, ANSWER, SALT))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryNotCommitteeMember").withArgs(requestId, sys.outsider.address);
      await time.increaseTo(record.commitDeadline + 1n);
      await expect(sys.chat.connect(members[0]).revealResponse(requestId, "Lyon.", SALT))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryCommitmentMismatch")
        .withArgs(requestId, members[0].address, commitmentOf(requestId, members[0].address, ANSWER, SALT), commitmentOf(requestId, members[0].address, "Lyon.", SALT));
      await sys.chat.connect(members[0]).revealResponse(requestId, ANSWER, SALT);
      await expect(sys.chat.connect(members[0]).revealResponse(requestId, ANSWER, SALT))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryAlreadyRevealed").withArgs(requestId, members[0].address);
      await time.increaseTo(record.revealDeadline + 1n);
      await expect(sys.chat.connect(members[1]).revealResponse(requestId, ANSWER, SALT))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryRevealPhaseClosed").withArgs(requestId, record.revealDeadline, record.revealDeadline + 2n);
    });
  });

  describe("consumers", function () {
    async function finalizeWith(sys: System, consumer: string, gas: number, revealGas?: number) {
      const { requestId, members } = await requestFrom(sys, { consumer, gas });
      for (const m of members) await commit(sys, requestId, m);
      await sys.chat.connect(members[0]).revealResponse(requestId, ANSWER, SALT);
      const tx = sys.chat.connect(members[1]).revealResponse(requestId, ANSWER, SALT, revealGas ? { gasLimit: revealGas } : {});
      return { requestId, tx };
    }

    it("delivers the response hash to the example consumer", async function () {
      const sys = await loadFixture(deployFixture);
      const consumer = await ethers.deployContract("ExampleChatConsumer", [await sys.chat.getAddress()]);
      await consumer.connect(sys.requester).ask(MODEL_ID, PROMPT, 32, { value: MINIMUM_FEE });
      const requestId = await sys.chat.requestCount();
      const members = (await sys.chat.getRecord(requestId)).committee.map((a) => sys.byAddress.get(a)!);
      for (const m of members) await commit(sys, requestId, m);
      await sys.chat.connect(members[0]).revealResponse(requestId, ANSWER, SALT);
      await expect(sys.chat.connect(members[1]).revealResponse(requestId, ANSWER, SALT))
        .to.emit(consumer, "AnswerReceived").withArgs(requestId, responseHashOf(ANSWER));
      expect(await consumer.answers(requestId)).to.equal(responseHashOf(ANSWER));
      await expect(consumer.onChatFulfilled(requestId, ethers.ZeroHash))
        .to.be.revertedWithCustomError(consumer, "ExampleChatConsumerUnauthorizedCaller").withArgs(sys.owner.address);
    });

    it("contains a consumer that burns all its gas", async function () {
      const sys = await loadFixture(deployFixture);
      const burner = await ethers.deployContract("GasBurningConsumer");
      const { requestId, tx } = await finalizeWith(sys, await burner.getAddress(), 200_000);
      await expect(tx).to.emit(sys.chat, "ConsumerCallbackFailed").withArgs(requestId, await burner.getAddress());
      const record = await sys.chat.getRecord(requestId);
      expect(record.status).to.equal(Status.Finalized);
      expect(record.callbackFailed).to.equal(true);
    });

    it("contains a consumer reverting with a huge reason", async function () {
      const sys = await loadFixture(deployFixture);
      const reverter = await ethers.deployContract("RevertingConsumer");
      const { requestId, tx } = await finalizeWith(sys, await reverter.getAddress(), 300_000);
      await expect(tx).to.emit(sys.chat, "ConsumerCallbackFailed").withArgs(requestId, await reverter.getAddress());
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.Finalized);
    });

    it("blocks a consumer that reenters the registry", async function () {
      const sys = await loadFixture(deployFixture);
      const reentrant = await ethers.deployContract("ReentrantConsumer", [await sys.chat.getAddress()]);
      const { requestId, tx } = await finalizeWith(sys, await reentrant.getAddress(), 500_000);
      await expect(tx).not.to.emit(sys.chat, "ConsumerCallbackFailed");
      const guard = sys.chat.interface.getError("ReentrancyGuardReentrantCall")!.selector;
      expect(await reentrant.lastWithdrawError()).to.equal(guard);
      expect(await reentrant.lastTimeoutError()).to.equal(guard);
      expect(await reentrant.lastRevealError()).to.equal(guard);
      // commitResponse makes no external call and has no guard: the record's status stops the reentrant commit.
      const finalized = sys.chat.interface.encodeErrorResult("ChatRecordRegistryInvalidStatus", [requestId, Status.Finalized]);
      expect(await reentrant.lastCommitError()).to.equal(finalized);
      expect(await reentrant.calls()).to.equal(1n);
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.Finalized);
    });

    it("makes a revealer that sends too little gas for the callback retry", async function () {
      const sys = await loadFixture(deployFixture);
      const burner = await ethers.deployContract("GasBurningConsumer");
      const { requestId, tx } = await finalizeWith(sys, await burner.getAddress(), 1_000_000, 400_000);
      await expect(tx).to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInsufficientGasForCallback")
        .withArgs(requestId, anyValue, 1_000_000);
    });
  });

  describe("timeout and refund", function () {
    it("slashes members that missed their commit and reassigns once a quorum cannot commit", async function () {
      const sys = await loadFixture(deployFixture);
      const { requestId, members } = await requestFrom(sys);
      await commit(sys, requestId, members[0]);
      const { commitDeadline, revealDeadline } = await sys.chat.getRecord(requestId);
      await expect(sys.chat.timeout(requestId))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryTimeoutNotReached").withArgs(requestId, commitDeadline, anyValue);
      await time.increaseTo(commitDeadline + 1n);
      const tx = sys.chat.timeout(requestId);
      await expect(tx).to.emit(sys.chat, "RequestTimedOut").withArgs(requestId, 1, false);
      await expect(tx).to.emit(sys.chat, "CommitteeReassigned");
      await expect(tx).to.emit(sys.chat, "MemberSlashed").withArgs(requestId, members[1].address, SlashReason.MissedCommit, SLASH_AMOUNT);
      await expect(tx).to.emit(sys.chat, "MemberSlashed").withArgs(requestId, members[2].address, SlashReason.MissedCommit, SLASH_AMOUNT);
      const record = await sys.chat.getRecord(requestId);
      expect(record.attempt).to.equal(2n);
      expect(record.status).to.equal(Status.Requested);
      expect(record.commitDeadline).to.be.greaterThan(revealDeadline - BigInt(REVEAL_WINDOW));
      expect((await sys.chat.getMembers(requestId)).every((m) => !m.committed)).to.equal(true);
    });

    it("waits for the reveal deadline once a quorum committed, then slashes missed reveals and times out for good", async function () {
      const sys = await loadFixture(deployFixture);
      await sys.chat.setConfig({ ...sys.config, maxAttempts: 1 });
      const { requestId, members } = await requestFrom(sys);
      await commit(sys, requestId, members[0]);
      await commit(sys, requestId, members[1]);
      const { commitDeadline, revealDeadline } = await sys.chat.getRecord(requestId);
      await time.increaseTo(commitDeadline + 1n);
      await sys.chat.connect(members[0]).revealResponse(requestId, ANSWER, SALT);
      await expect(sys.chat.timeout(requestId))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryTimeoutNotReached").withArgs(requestId, revealDeadline, anyValue);
      await time.increaseTo(revealDeadline + 1n);
      const tx = sys.chat.timeout(requestId);
      await expect(tx).to.emit(sys.chat, "RequestTimedOut").withArgs(requestId, 1, true);
      await expect(tx).to.emit(sys.chat, "MemberSlashed").withArgs(requestId, members[1].address, SlashReason.MissedReveal, SLASH_AMOUNT);
      await expect(tx).to.emit(sys.chat, "MemberSlashed").withArgs(requestId, members[2].address, SlashReason.MissedCommit, SLASH_AMOUNT);
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.TimedOut);
      await expect(sys.chat.timeout(requestId))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidStatus").withArgs(requestId, Status.TimedOut);
      const before = await ethers.provider.getBalance(sys.requester.address);
      await expect(sys.chat.connect(sys.outsider).claimRefund(requestId))
        .to.emit(sys.chat, "RequestRefunded").withArgs(requestId, sys.requester.address, MINIMUM_FEE);
      expect(await ethers.provider.getBalance(sys.requester.address)).to.equal(before + MINIMUM_FEE);
      await expect(sys.chat.claimRefund(requestId))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidStatus").withArgs(requestId, Status.Refunded);
    });

    it("reports missed commits without touching stakes when the slash amount is zero", async function () {
      const sys = await loadFixture(deployFixture);
      await sys.chat.setConfig({ ...sys.config, slashAmount: 0n });
      const { requestId, members } = await requestFrom(sys);
      const stakes = await Promise.all(members.map((m) => sys.registry.stakeOf(m.address)));
      await time.increaseTo((await sys.chat.getRecord(requestId)).commitDeadline + 1n);
      const tx = sys.chat.timeout(requestId);
      for (const m of members) {
        await expect(tx).to.emit(sys.chat, "MemberSlashed").withArgs(requestId, m.address, SlashReason.MissedCommit, 0n);
      }
      await expect(tx).not.to.emit(sys.registry, "ValidatorSlashed");
      expect(await Promise.all(members.map((m) => sys.registry.stakeOf(m.address)))).to.deep.equal(stakes);
    });

    it("pays a refund once to a requester that reenters claimRefund", async function () {
      const sys = await loadFixture(deployFixture);
      await sys.chat.setConfig({ ...sys.config, maxAttempts: 1 });
      const requester = await ethers.deployContract("ReentrantRequester", [await sys.chat.getAddress()]);
      await requester.request(MODEL_ID, PROMPT, { value: MINIMUM_FEE });
      const requestId = await requester.requestId();
      await time.increaseTo((await sys.chat.getRecord(requestId)).revealDeadline + 1n);
      await sys.chat.timeout(requestId);
      const held = await ethers.provider.getBalance(await sys.chat.getAddress());
      await expect(requester.claim()).to.emit(sys.chat, "RequestRefunded").withArgs(requestId, await requester.getAddress(), MINIMUM_FEE);
      expect(await requester.lastReentryError()).to.equal(sys.chat.interface.getError("ReentrancyGuardReentrantCall")!.selector);
      expect(await requester.received()).to.equal(MINIMUM_FEE);
      expect(await ethers.provider.getBalance(await sys.chat.getAddress())).to.equal(held - MINIMUM_FEE);
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.Refunded);
    });

    it("fails a refund loudly when the requester rejects ETH", async function () {
      const sys = await loadFixture(deployFixture);
      await sys.chat.setConfig({ ...sys.config, maxAttempts: 1 });
      const rejecting = await ethers.deployContract("RejectingReceiver");
      await rejecting.request(await sys.chat.getAddress(), MODEL_ID, PROMPT, { value: MINIMUM_FEE });
      const requestId = await sys.chat.requestCount();
      await time.increaseTo((await sys.chat.getRecord(requestId)).revealDeadline + 1n);
      await sys.chat.timeout(requestId);
      await expect(sys.chat.claimRefund(requestId))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryTransferFailed").withArgs(await rejecting.getAddress(), MINIMUM_FEE);
    });
  });

  describe("batch anchoring", function () {
    it("anchors a batch and verifies a record against it", async function () {
      const sys = await loadFixture(deployFixture);
      const [v] = sys.validators;
      const leafA = await sys.chat.recordLeaf(ethers.id("p1"), ethers.id("r1"), MODEL_HASH, v.address);
      const leafB = await sys.chat.recordLeaf(ethers.id("p2"), ethers.id("r2"), MODEL_HASH, v.address);
      const inner = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes32", "bytes32", "address"], [ethers.id("p1"), ethers.id("r1"), MODEL_HASH, v.address]));
      expect(leafA).to.equal(ethers.keccak256(inner));
      const [lo, hi] = BigInt(leafA) < BigInt(leafB) ? [leafA, leafB] : [leafB, leafA];
      const root = ethers.keccak256(ethers.concat([lo, hi]));
      await expect(sys.chat.connect(v).anchorBatch(root, 2, MODEL_ID))
        .to.emit(sys.chat, "BatchAnchored").withArgs(1n, v.address, MODEL_ID, root, 2);
      expect(await sys.chat.verifyRecord(1, leafA, [leafB])).to.equal(true);
      expect(await sys.chat.verifyRecord(1, leafA, [leafA])).to.equal(false);
      expect((await sys.chat.getBatch(1)).count).to.equal(2n);
      expect(await sys.chat.batchCount()).to.equal(1n);
      await expect(sys.chat.verifyRecord(2, leafA, [])).to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryUnknownBatch").withArgs(2);
    });

    it("rejects empty batches, unknown models and callers without stake", async function () {
      const sys = await loadFixture(deployFixture);
      const [v] = sys.validators;
      const root = ethers.id("root");
      await expect(sys.chat.connect(v).anchorBatch(ethers.ZeroHash, 2, MODEL_ID))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryEmptyBatch").withArgs(ethers.ZeroHash, 2);
      await expect(sys.chat.connect(v).anchorBatch(root, 0, MODEL_ID))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryEmptyBatch").withArgs(root, 0);
      await expect(sys.chat.connect(v).anchorBatch(root, 2, 5))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryUnknownModel").withArgs(5);
      await expect(sys.chat.connect(sys.outsider).anchorBatch(root, 2, MODEL_ID))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryNotActiveValidator").withArgs(sys.outsider.address);
    });
  });

  it("supports a committee of one", async function () {
    const sys = await loadFixture(deployFixture);
    await sys.chat.setConfig({ ...sys.config, committeeSize: 1, quorum: 1 });
    const { requestId, members } = await requestFrom(sys);
    expect(members).to.have.length(1);
    await commit(sys, requestId, members[0]);
    await expect(sys.chat.connect(members[0]).revealResponse(requestId, ANSWER, SALT))
      .to.emit(sys.chat, "RecordFinalized").withArgs(requestId, responseHashOf(ANSWER), MODEL_ID, [members[0].address]);
    expect(await sys.chat.pendingRewards(members[0].address)).to.equal(MINIMUM_FEE);
    expect(await sys.chat.randomnessSource()).to.equal(await sys.randomness.getAddress());
    expect(await sys.chat.computeCommitment(requestId, members[0].address, responseHashOf(ANSWER), SALT))
      .to.equal(commitmentOf(requestId, members[0].address, ANSWER, SALT));
  });

  it("rejects a reveal after finalization", async function () {
    const sys = await loadFixture(deployFixture);
    const { requestId, members } = await requestFrom(sys);
    for (const m of members) await commit(sys, requestId, m);
    await sys.chat.connect(members[0]).revealResponse(requestId, ANSWER, SALT);
    await sys.chat.connect(members[1]).revealResponse(requestId, ANSWER, SALT);
    await expect(sys.chat.connect(members[2]).revealResponse(requestId, ANSWER, SALT))
      .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidStatus").withArgs(requestId, Status.Finalized);
  });
});
