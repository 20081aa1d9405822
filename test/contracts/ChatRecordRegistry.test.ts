import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  COMMIT_WINDOW, DeclineReason, MINIMUM_FEE, MODEL_HASH, MODEL_ID, MODEL_LIMITS, REVEAL_WINDOW, SLASH_AMOUNT,
  SlashReason, Status, UNIT, commitmentOf, deploySystem, drawCommittee, requestChat, responseHashOf,
  type RequestOptions,
} from "./fixtures";

const PROMPT = "What is the capital of France?";
const ANSWER = "Paris.";
const SALT = ethers.id("salt");
const GUARD = "ReentrancyGuardReentrantCall";

async function deployFixture() {
  return deploySystem({ committeeSize: 3, quorum: 2, maxAttempts: 2, validatorCount: 5 });
}

type System = Awaited<ReturnType<typeof deployFixture>>;

/** Requests a chat and draws its committee. */
async function requestAndDraw(sys: System, options: RequestOptions = {}) {
  const requestId = await requestChat(sys, { prompt: PROMPT, ...options });
  const members = await drawCommittee(sys, requestId);
  return { requestId, members, committee: members.map((m) => m.address) };
}

async function commit(sys: System, requestId: bigint, member: HardhatEthersSigner, text = ANSWER) {
  return sys.chat.connect(member).commitResponse(requestId, commitmentOf(requestId, member.address, text, SALT));
}

async function reveal(sys: System, requestId: bigint, member: HardhatEthersSigner, text = ANSWER) {
  return sys.chat.connect(member).revealResponse(requestId, text, SALT);
}

/** The arguments of the first `name` event in the receipt of `tx`. */
async function eventArgs(sys: System, tx: { wait(): Promise<unknown> }, name: string) {
  const receipt = (await tx.wait()) as { logs: { topics: string[]; data: string }[] };
  const parsed = receipt.logs.map((log) => { try { return sys.chat.interface.parseLog(log); } catch { return null; } });
  const event = parsed.find((e) => e?.name === name);
  if (!event) throw new Error(`no ${name} event`);
  return event.args;
}

const chatBalance = async (sys: System) => ethers.provider.getBalance(await sys.chat.getAddress());

describe("ChatRecordRegistry", function () {
  describe("models and config", function () {
    it("registers, updates and guards models", async function () {
      const { chat, outsider } = await loadFixture(deployFixture);
      const model = await chat.getModel(MODEL_ID);
      expect(model.modelHash).to.equal(MODEL_HASH);
      expect(model.limits).to.deep.equal([MODEL_LIMITS.maxPromptBytes, MODEL_LIMITS.maxNewTokens, MODEL_LIMITS.contextLength].map(BigInt));
      const limits = { maxPromptBytes: 100, maxNewTokens: 16, contextLength: 64 };
      await expect(chat.registerModel(MODEL_ID, MODEL_HASH, limits, "x")).to.be.revertedWithCustomError(chat, "ChatRecordRegistryModelExists").withArgs(MODEL_ID);
      await expect(chat.registerModel(2, ethers.ZeroHash, limits, "x")).to.be.revertedWithCustomError(chat, "ChatRecordRegistryZeroModelHash").withArgs(2);
      await expect(chat.registerModel(2, MODEL_HASH, { ...limits, maxPromptBytes: 0 }, "x"))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryInvalidModelLimits").withArgs(2, 0, 16, 64);
      await expect(chat.registerModel(2, MODEL_HASH, { ...limits, maxNewTokens: 0 }, "x"))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryInvalidModelLimits").withArgs(2, 100, 0, 64);
      await expect(chat.registerModel(2, MODEL_HASH, limits, "uri")).to.emit(chat, "ModelRegistered").withArgs(2, MODEL_HASH, [100, 16, 64], "uri");
      await expect(chat.updateModel(2, false, "uri2")).to.emit(chat, "ModelUpdated").withArgs(2, false, "uri2");
      await expect(chat.updateModel(9, true, "")).to.be.revertedWithCustomError(chat, "ChatRecordRegistryUnknownModel").withArgs(9);
      await expect(chat.connect(outsider).registerModel(3, MODEL_HASH, limits, ""))
        .to.be.revertedWithCustomError(chat, "OwnableUnauthorizedAccount").withArgs(outsider.address);
      await expect(chat.connect(outsider).updateModel(2, true, "taken over"))
        .to.be.revertedWithCustomError(chat, "OwnableUnauthorizedAccount").withArgs(outsider.address);
      const updated = await chat.getModel(2);
      expect(updated.enabled).to.equal(false);
      expect(updated.uri).to.equal("uri2");
      expect(updated.limits.maxNewTokens).to.equal(16n); // limits never change with an update
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
        .to.emit(chat, "ConfigUpdated").withArgs(config.minimumFee, config.slashAmount, 1, 1, config.maxAttempts, 1);
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
    it("fixes the seed block, draws nobody yet and emits everything a node needs", async function () {
      const sys = await loadFixture(deployFixture);
      const tx = await sys.chat.connect(sys.requester).requestChat(MODEL_ID, ethers.toUtf8Bytes(PROMPT), 32, ethers.ZeroAddress, 0, 0, { value: MINIMUM_FEE });
      const block = (await ethers.provider.getBlock((await tx.wait())!.blockNumber))!;
      const now = BigInt(block.timestamp);
      await expect(tx).to.emit(sys.chat, "ChatRequested").withArgs(
        1n, sys.requester.address, MODEL_ID, ethers.hexlify(ethers.toUtf8Bytes(PROMPT)), responseHashOf(PROMPT), 32, block.number,
        now + BigInt(COMMIT_WINDOW), now + BigInt(COMMIT_WINDOW + REVEAL_WINDOW),
      );
      await expect(tx).not.to.emit(sys.chat, "CommitteeDrawn");
      const record = await sys.chat.getRecord(1);
      expect(record.requester).to.equal(sys.requester.address);
      expect(record.status).to.equal(Status.Requested);
      expect(record.attempt).to.equal(1n);
      expect(record.quorum).to.equal(2n);
      expect(record.promptHash).to.equal(responseHashOf(PROMPT));
      expect(record.modelHash).to.equal(MODEL_HASH);
      expect(record.fee).to.equal(MINIMUM_FEE);
      expect(record.seedBlock).to.equal(BigInt(block.number));
      expect(record.committee).to.deep.equal([]);
      expect(record.settled).to.equal(false);
      expect(await sys.chat.getMembers(1)).to.deep.equal([]);
      expect(await chatBalance(sys)).to.equal(MINIMUM_FEE);
    });

    it("rejects bad requests with the failing values", async function () {
      const sys = await loadFixture(deployFixture);
      const { chat, owner } = sys;
      await expect(requestChat(sys, { modelId: 7 })).to.be.revertedWithCustomError(chat, "ChatRecordRegistryUnknownModel").withArgs(7);
      await chat.connect(owner).updateModel(MODEL_ID, false, "");
      await expect(requestChat(sys)).to.be.revertedWithCustomError(chat, "ChatRecordRegistryModelDisabled").withArgs(MODEL_ID);
      await chat.connect(owner).updateModel(MODEL_ID, true, "");
      await expect(requestChat(sys, { prompt: "" })).to.be.revertedWithCustomError(chat, "ChatRecordRegistryEmptyPrompt");
      await expect(requestChat(sys, { maxNewTokens: 0 }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryInvalidMaxNewTokens").withArgs(MODEL_ID, 0, MODEL_LIMITS.maxNewTokens);
      const consumer = sys.outsider.address;
      await expect(requestChat(sys, { consumer, callbackGasLimit: 5_000_001, maxCallbackGasPrice: 1n }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryCallbackGasLimitTooHigh").withArgs(5_000_001, 5_000_000);
      await expect(requestChat(sys, { fee: MINIMUM_FEE - 1n }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryFeeTooLow").withArgs(MINIMUM_FEE - 1n, 0, MINIMUM_FEE);
      // The escrow comes off the value first: what is left must still pay the fee.
      await expect(requestChat(sys, { consumer, callbackGasLimit: 100_000, maxCallbackGasPrice: 10n, fee: MINIMUM_FEE - 1n }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryFeeTooLow").withArgs(MINIMUM_FEE - 1n, 1_000_000, MINIMUM_FEE);
      await expect(requestChat(sys, { consumer, callbackGasLimit: 100_000, maxCallbackGasPrice: 2n ** 56n }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryInvalidCallback").withArgs(consumer, 100_000, 2n ** 56n);
      const tooHigh = 2n ** 64n;
      await expect(requestChat(sys, { fee: tooHigh }))
        .to.be.revertedWithCustomError(chat, "ChatRecordRegistryFeeTooHigh").withArgs(tooHigh, tooHigh - 1n);
      expect(await chat.requestCount()).to.equal(0n);
    });

    it("accepts a request the pool cannot serve, which times out after its commit window", async function () {
      const sys = await loadFixture(deployFixture);
      for (const v of sys.validators.slice(0, 3)) await sys.registry.connect(v).requestUnstake(1000n * UNIT);
      const requestId = await requestChat(sys);
      await mine(1);
      await expect(sys.chat.draw(requestId))
        .to.be.revertedWithCustomError(sys.registry, "ValidatorRegistryNotEnoughValidators").withArgs(3, 2);
      // Nobody can be drawn, so nobody is slashed: the timeout after the commit window ends the request.
      await time.increase(COMMIT_WINDOW + 1);
      await expect(sys.chat.timeout(requestId))
        .to.emit(sys.chat, "RequestTimedOut").withArgs(requestId, 1, true)
        .and.not.to.emit(sys.chat, "MemberSlashed");
      expect(await sys.chat.creditOf(sys.requester.address)).to.equal(MINIMUM_FEE);
    });

    it("keeps each request's requester and the parameters it was created under", async function () {
      const sys = await loadFixture(deployFixture);
      const first = await requestChat(sys);
      const second = await requestChat(sys, { from: sys.outsider });
      await sys.chat.setConfig({ ...sys.config, committeeSize: 5, quorum: 3, slashAmount: 20n * UNIT, maxAttempts: 4 });
      const third = await requestChat(sys);
      // Requesters are stored as ids: each record maps back to its own address.
      expect((await sys.chat.getRecord(first)).requester).to.equal(sys.requester.address);
      expect((await sys.chat.getRecord(second)).requester).to.equal(sys.outsider.address);
      expect((await sys.chat.getRecord(third)).requester).to.equal(sys.requester.address);
      const [minimumFee, slashAmount, committeeSize, quorum, maxAttempts] = [MINIMUM_FEE, SLASH_AMOUNT, 3n, 2n, 2n];
      expect(await sys.chat.getRequestConfig(second)).to.deep.equal([minimumFee, slashAmount, committeeSize, quorum, maxAttempts]);
      expect(await sys.chat.getRequestConfig(third)).to.deep.equal([minimumFee, 20n * UNIT, 5n, 3n, 4n]);
      expect((await sys.chat.getRecord(third)).quorum).to.equal(3n);
      expect((await sys.chat.previewCommittee(third, { blockTag: "pending" }))[0]).to.have.length(5);
      for (const view of [sys.chat.getRecord, sys.chat.getMembers, sys.chat.getRequestConfig, sys.chat.previewCommittee]) {
        await expect(view(99)).to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryUnknownRequest").withArgs(99);
      }
    });
  });

  describe("committee draw", function () {
    it("previews the committee from the pending block and stores that committee at the first draw", async function () {
      const sys = await loadFixture(deployFixture);
      const requestId = await requestChat(sys);
      // At "latest" the call runs in the seed block itself, whose hash does not exist yet.
      expect(await sys.chat.previewCommittee(requestId)).to.deep.equal([[], false]);
      const [preview, ready] = await sys.chat.previewCommittee(requestId, { blockTag: "pending" });
      expect(ready).to.equal(true);
      expect(new Set(preview).size).to.equal(3);
      const tx = await sys.chat.connect(sys.outsider).draw(requestId);
      await expect(tx).to.emit(sys.chat, "CommitteeDrawn").withArgs(requestId, 1, [...preview]);
      expect((await sys.chat.getRecord(requestId)).committee).to.deep.equal(preview);
      expect(await sys.chat.previewCommittee(requestId)).to.deep.equal([preview, true]);
      const members = await sys.chat.getMembers(requestId);
      expect(members.map((m) => m.validator)).to.deep.equal(preview);
      expect(members.every((m) => !m.committed && !m.revealed && !m.declined)).to.equal(true);
      // Seated stake stays locked until the seat can no longer be settled.
      const { revealDeadline } = await sys.chat.getRecord(requestId);
      const horizon = revealDeadline + BigInt(REVEAL_WINDOW);
      const period = await sys.chat.STAKE_LOCK_PERIOD();
      const lockedUntil = ((horizon + period - 1n) / period) * period; // rounded up to a whole lock period
      expect(lockedUntil).to.be.at.least(horizon);
      for (const member of preview) expect(await sys.chat.stakeLockedUntil(member)).to.equal(lockedUntil);
      expect(await sys.chat.stakeLockedUntil(sys.outsider.address)).to.equal(0n);
    });

    it("draws once: a later draw changes nothing, even after the stakes changed", async function () {
      const sys = await loadFixture(deployFixture);
      const { requestId, members, committee } = await requestAndDraw(sys);
      // Two members leave the pool: a new draw could only seat the two outsiders with the third member.
      for (const m of members.slice(0, 2)) await sys.registry.connect(m).requestUnstake(1000n * UNIT);
      await expect(sys.chat.draw(requestId)).not.to.emit(sys.chat, "CommitteeDrawn");
      expect((await sys.chat.getRecord(requestId)).committee).to.deep.equal(committee);
      await commit(sys, requestId, members[0]); // still seated
    });

    it("refuses a draw or commit in the seed block, and draws for unknown or ended requests", async function () {
      const sys = await loadFixture(deployFixture);
      const requestId = await requestChat(sys);
      const seedBlock = (await sys.chat.getRecord(requestId)).seedBlock;
      // A call at "latest" executes in the seed block: its hash is not there yet.
      await expect(sys.chat.draw.staticCall(requestId))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistrySeedNotReady").withArgs(requestId, seedBlock, seedBlock);
      await expect(sys.chat.connect(sys.validators[0]).commitResponse.staticCall(requestId, ethers.ZeroHash))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistrySeedNotReady").withArgs(requestId, seedBlock, seedBlock);
      await expect(sys.chat.draw(42)).to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryUnknownRequest").withArgs(42);
      const members = await drawCommittee(sys, requestId);
      for (const m of members.slice(0, 2)) await sys.chat.connect(m).declineRequest(requestId, DeclineReason.ModelUnavailable);
      await expect(sys.chat.draw(requestId))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidStatus").withArgs(requestId, Status.Declined);
    });

    it("lets the first commit draw the committee in the same transaction", async function () {
      const sys = await loadFixture(deployFixture);
      const requestId = await requestChat(sys);
      const [preview] = await sys.chat.previewCommittee(requestId, { blockTag: "pending" });
      const member = sys.byAddress.get(preview[1])!;
      await expect(commit(sys, requestId, member))
        .to.emit(sys.chat, "CommitteeDrawn").withArgs(requestId, 1, [...preview])
        .and.to.emit(sys.chat, "ResponseCommitted").withArgs(requestId, member.address, commitmentOf(requestId, member.address, ANSWER, SALT));
      expect((await sys.chat.getMembers(requestId)).map((m) => m.committed)).to.deep.equal([false, true, false]);
    });
  });

  describe("commit and reveal", function () {
    it("finalizes at quorum inside the reveal, pays the agreeing seats and slashes the dissenter", async function () {
      const sys = await loadFixture(deployFixture);
      const fee = MINIMUM_FEE + 1n;
      const share = fee / 3n;
      const remainder = fee - 3n * share;
      const { requestId, members } = await requestAndDraw(sys, { fee });
      await expect(commit(sys, requestId, members[0])).to.emit(sys.chat, "ResponseCommitted")
        .withArgs(requestId, members[0].address, commitmentOf(requestId, members[0].address, ANSWER, SALT));
      await commit(sys, requestId, members[1], "London.");
      await commit(sys, requestId, members[2]);
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.Committed);
      expect((await sys.chat.getMembers(requestId))[1].commitment).to.equal(commitmentOf(requestId, members[1].address, "London.", SALT));
      await expect(reveal(sys, requestId, members[1], "London."))
        .to.emit(sys.chat, "ResponseRevealed").withArgs(requestId, members[1].address, responseHashOf("London."), "London.");
      await reveal(sys, requestId, members[0]);
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.Revealed);
      const tx = reveal(sys, requestId, members[2]);
      await expect(tx).to.emit(sys.chat, "RecordFinalized")
        .withArgs(requestId, responseHashOf(ANSWER), MODEL_ID, [members[0].address, members[2].address]);
      await expect(tx).to.emit(sys.chat, "MemberSlashed").withArgs(requestId, members[1].address, SlashReason.Dissent, SLASH_AMOUNT);
      await expect(tx).to.emit(sys.chat, "Credited").withArgs(members[0].address, requestId, share + remainder);
      const record = await sys.chat.getRecord(requestId);
      expect(record.status).to.equal(Status.Finalized);
      expect(record.responseHash).to.equal(responseHashOf(ANSWER));
      expect(await sys.chat.creditOf(members[0].address)).to.equal(share + remainder);
      expect(await sys.chat.creditOf(members[2].address)).to.equal(share);
      expect(await sys.chat.creditOf(members[1].address)).to.equal(0n);
      expect(await sys.registry.stakeOf(members[1].address)).to.equal(1000n * UNIT - SLASH_AMOUNT);
      const states = await sys.chat.getMembers(requestId);
      expect(states.map((m) => m.revealed)).to.deep.equal([true, true, true]);
      expect(states.map((m) => m.commitment)).to.deep.equal([ethers.ZeroHash, ethers.ZeroHash, ethers.ZeroHash]);
      expect(states[1].responseHash).to.equal(responseHashOf("London."));
      await expect(commit(sys, requestId, members[0]))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidStatus").withArgs(requestId, Status.Finalized);
      // The dissenter's unearned seat goes back to the requester at settlement; the dissenter is not slashed twice.
      await time.increaseTo(record.revealDeadline + 1n);
      const settle = sys.chat.settle(requestId);
      await expect(settle).to.emit(sys.chat, "RequestSettled").withArgs(requestId, share);
      await expect(settle).not.to.emit(sys.chat, "MemberSlashed");
      expect(await sys.chat.creditOf(sys.requester.address)).to.equal(share);
      expect(await chatBalance(sys)).to.equal(fee); // every wei of the fee is someone's credit
    });

    it("rejects commits from non-members, twice, after the deadline, and for unknown requests", async function () {
      const sys = await loadFixture(deployFixture);
      const { requestId, members } = await requestAndDraw(sys);
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
      const earlier = await requestAndDraw(sys); // gives the earlier member a validator id
      // Request until another validator is drawn: the earlier member then has an id but no seat.
      let current = await requestAndDraw(sys);
      while (current.committee[0] === earlier.committee[0]) current = await requestAndDraw(sys);
      await expect(commit(sys, current.requestId, earlier.members[0]))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryNotCommitteeMember")
        .withArgs(current.requestId, earlier.committee[0]);
      await commit(sys, current.requestId, current.members[0]);
    });

    it("rejects reveals without commit, early, twice, by non-members, with the wrong text and late", async function () {
      const sys = await loadFixture(deployFixture);
      const { requestId, members } = await requestAndDraw(sys);
      const record = await sys.chat.getRecord(requestId);
      await commit(sys, requestId, members[0]);
      await commit(sys, requestId, members[1]);
      await expect(reveal(sys, requestId, members[0]))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryRevealPhaseNotOpen").withArgs(requestId, record.commitDeadline, anyValue);
      await expect(reveal(sys, requestId, members[2]))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryNotCommitted").withArgs(requestId, members[2].address);
      await expect(reveal(sys, requestId, sys.outsider))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryNotCommitteeMember").withArgs(requestId, sys.outsider.address);
      await time.increaseTo(record.commitDeadline + 1n);
      await expect(reveal(sys, requestId, members[0], "Lyon."))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryCommitmentMismatch")
        .withArgs(requestId, members[0].address, commitmentOf(requestId, members[0].address, ANSWER, SALT), commitmentOf(requestId, members[0].address, "Lyon.", SALT));
      await reveal(sys, requestId, members[0]);
      await expect(reveal(sys, requestId, members[0]))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryAlreadyRevealed").withArgs(requestId, members[0].address);
      await time.increaseTo(record.revealDeadline + 1n);
      await expect(reveal(sys, requestId, members[1]))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryRevealPhaseClosed").withArgs(requestId, record.revealDeadline, record.revealDeadline + 2n);
    });

    it("pays an agreeing reveal after finalization once, and closes late reveals at the reveal deadline", async function () {
      const sys = await loadFixture(deployFixture);
      const { requestId, members } = await requestAndDraw(sys);
      for (const m of members) await commit(sys, requestId, m);
      await reveal(sys, requestId, members[0]);
      await reveal(sys, requestId, members[1]);
      const frozen = await sys.chat.getRecord(requestId);
      await expect(reveal(sys, requestId, members[2]))
        .to.emit(sys.chat, "Credited").withArgs(members[2].address, requestId, MINIMUM_FEE / 3n)
        .and.not.to.emit(sys.chat, "RecordFinalized");
      await expect(reveal(sys, requestId, members[2]))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryAlreadyRevealed").withArgs(requestId, members[2].address);
      const after = await sys.chat.getRecord(requestId);
      expect([after.status, after.responseHash]).to.deep.equal([frozen.status, frozen.responseHash]);
      // Every seat earned its share: nothing to refund.
      await time.increaseTo(frozen.revealDeadline + 1n);
      await expect(sys.chat.settle(requestId)).to.emit(sys.chat, "RequestSettled").withArgs(requestId, 0n);
      expect(await sys.chat.creditOf(sys.requester.address)).to.equal(0n);
    });
  });

  describe("declines", function () {
    it("records a minority decline, finalizes with the others and slashes the decliner at settlement", async function () {
      const sys = await loadFixture(deployFixture);
      const { requestId, members } = await requestAndDraw(sys);
      await expect(sys.chat.connect(members[0]).declineRequest(requestId, DeclineReason.PromptTooLong))
        .to.emit(sys.chat, "ResponseDeclined").withArgs(requestId, members[0].address, DeclineReason.PromptTooLong)
        .and.not.to.emit(sys.chat, "RequestDeclined");
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.Requested);
      await expect(sys.chat.connect(members[0]).declineRequest(requestId, DeclineReason.PromptTooLong))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryAlreadyCommitted").withArgs(requestId, members[0].address);
      await expect(commit(sys, requestId, members[0]))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryAlreadyCommitted").withArgs(requestId, members[0].address);
      await commit(sys, requestId, members[1]);
      await commit(sys, requestId, members[2]);
      // Everyone answered (two commits, one decline): reveals open before the commit deadline.
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.Committed);
      const states = await sys.chat.getMembers(requestId);
      expect(states.map((m) => [m.committed, m.declined])).to.deep.equal([[false, true], [true, false], [true, false]]);
      await reveal(sys, requestId, members[1]);
      await expect(reveal(sys, requestId, members[2]))
        .to.emit(sys.chat, "RecordFinalized").withArgs(requestId, responseHashOf(ANSWER), MODEL_ID, [members[1].address, members[2].address]);
      await time.increaseTo((await sys.chat.getRecord(requestId)).revealDeadline + 1n);
      const share = MINIMUM_FEE / 3n;
      await expect(sys.chat.settle(requestId))
        .to.emit(sys.chat, "MemberSlashed").withArgs(requestId, members[0].address, SlashReason.Dissent, SLASH_AMOUNT)
        .and.to.emit(sys.chat, "RequestSettled").withArgs(requestId, MINIMUM_FEE - 2n * share - (MINIMUM_FEE - 3n * share));
    });

    it("ends the request at a quorum of declines: a share to each decliner, escrow back, a committed member slashed at settlement", async function () {
      const sys = await loadFixture(deployFixture);
      const escrow = 100_000n * 7n;
      const { requestId, members } = await requestAndDraw(sys, { consumer: sys.outsider.address, callbackGasLimit: 100_000, maxCallbackGasPrice: 7n, fee: MINIMUM_FEE + 1n });
      await commit(sys, requestId, members[0]);
      await sys.chat.connect(members[1]).declineRequest(requestId, DeclineReason.InvalidPrompt);
      const tx = sys.chat.connect(members[2]).declineRequest(requestId, DeclineReason.ModelUnavailable);
      await expect(tx).to.emit(sys.chat, "RequestDeclined").withArgs(requestId, [members[1].address, members[2].address]);
      await expect(tx).to.emit(sys.chat, "Credited").withArgs(sys.requester.address, requestId, escrow);
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.Declined);
      const fee = MINIMUM_FEE + 1n;
      const share = fee / 3n; // one seat's part; the division remainder goes to the first decliner
      expect(await sys.chat.creditOf(members[1].address)).to.equal(share + (fee - 3n * share));
      expect(await sys.chat.creditOf(members[2].address)).to.equal(share);
      await time.increaseTo((await sys.chat.getRecord(requestId)).commitDeadline + 1n);
      await expect(reveal(sys, requestId, members[0]))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidStatus").withArgs(requestId, Status.Declined);
      await expect(sys.chat.timeout(requestId))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidStatus").withArgs(requestId, Status.Declined);
      await time.increaseTo((await sys.chat.getRecord(requestId)).revealDeadline + 1n);
      await expect(sys.chat.settle(requestId))
        .to.emit(sys.chat, "MemberSlashed").withArgs(requestId, members[0].address, SlashReason.Dissent, SLASH_AMOUNT)
        .and.to.emit(sys.chat, "RequestSettled").withArgs(requestId, share);
      expect(await sys.chat.creditOf(sys.requester.address)).to.equal(escrow + share); // the dissenter's unearned seat
      expect((await sys.chat.getRecord(requestId)).settled).to.equal(true);
    });
  });

  describe("settle", function () {
    it("refuses unknown, open, timed-out and already settled requests, and waits for the reveal deadline", async function () {
      const sys = await loadFixture(deployFixture);
      await expect(sys.chat.settle(42)).to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryUnknownRequest").withArgs(42);
      const { requestId, members } = await requestAndDraw(sys);
      await expect(sys.chat.settle(requestId))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidStatus").withArgs(requestId, Status.Requested);
      for (const m of members) await commit(sys, requestId, m);
      await reveal(sys, requestId, members[0]);
      await reveal(sys, requestId, members[1]);
      const { revealDeadline } = await sys.chat.getRecord(requestId);
      await expect(sys.chat.settle(requestId))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryTimeoutNotReached").withArgs(requestId, revealDeadline, anyValue);
      await time.increaseTo(revealDeadline + 1n);
      await expect(sys.chat.settle(requestId))
        .to.emit(sys.chat, "MemberSlashed").withArgs(requestId, members[2].address, SlashReason.MissedReveal, SLASH_AMOUNT);
      await expect(sys.chat.settle(requestId)).to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryAlreadySettled").withArgs(requestId);
      await sys.chat.setConfig({ ...sys.config, maxAttempts: 1 });
      const timedOut = await requestChat(sys);
      await time.increase(COMMIT_WINDOW + 1);
      await sys.chat.timeout(timedOut);
      await expect(sys.chat.settle(timedOut))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidStatus").withArgs(timedOut, Status.TimedOut);
    });
  });

  describe("consumers", function () {
    async function finalizeWith(sys: System, consumer: string, gas: number, revealOverrides: { gasLimit?: number; gasPrice?: bigint } = {}) {
      const { requestId, members } = await requestAndDraw(sys, { consumer, callbackGasLimit: gas, maxCallbackGasPrice: 1n });
      for (const m of members) await commit(sys, requestId, m);
      await reveal(sys, requestId, members[0]);
      const tx = sys.chat.connect(members[1]).revealResponse(requestId, ANSWER, SALT, revealOverrides);
      return { requestId, members, tx };
    }

    it("delivers the response hash to the example consumer and reimburses the finalizer from the escrow", async function () {
      const sys = await loadFixture(deployFixture);
      const consumer = await ethers.deployContract("ExampleChatConsumer", [await sys.chat.getAddress()]);
      const maxPrice = ethers.parseUnits("1", "gwei");
      const escrow = 60_000n * maxPrice;
      await consumer.connect(sys.requester).ask(MODEL_ID, PROMPT, 32, maxPrice, { value: MINIMUM_FEE + escrow });
      const requestId = await sys.chat.requestCount();
      const members = await drawCommittee(sys, requestId);
      for (const m of members) await commit(sys, requestId, m);
      await reveal(sys, requestId, members[0]);
      // The finalizer pays 3 gwei; it is reimbursed at the requester's maximum of 1 gwei.
      const tx = await sys.chat.connect(members[1]).revealResponse(requestId, ANSWER, SALT, { gasPrice: ethers.parseUnits("3", "gwei") });
      await expect(tx).to.emit(consumer, "AnswerReceived").withArgs(requestId, responseHashOf(ANSWER));
      const reimbursed = await eventArgs(sys, tx, "CallbackReimbursed");
      expect(reimbursed.requestId).to.equal(requestId);
      expect(reimbursed.validator).to.equal(members[1].address);
      expect(reimbursed.gasUsed).to.be.greaterThan(0n).and.at.most(60_000n);
      expect(reimbursed.amount).to.equal(reimbursed.gasUsed * maxPrice);
      expect(await sys.chat.creditOf(members[1].address)).to.equal(MINIMUM_FEE / 3n + reimbursed.amount);
      const consumerAddress = await consumer.getAddress();
      expect(await sys.chat.creditOf(consumerAddress)).to.equal(escrow - reimbursed.amount);
      expect(await consumer.answers(requestId)).to.equal(responseHashOf(ANSWER));
      await expect(consumer.onChatFulfilled(requestId, ethers.ZeroHash))
        .to.be.revertedWithCustomError(consumer, "ExampleChatConsumerUnauthorizedCaller").withArgs(sys.owner.address);
      // The unused escrow is the consumer contract's credit; its owner pulls it.
      await expect(consumer.connect(sys.outsider).withdrawCredits())
        .to.be.revertedWithCustomError(consumer, "ExampleChatConsumerNotOwner").withArgs(sys.outsider.address);
      await expect(consumer.withdrawCredits())
        .to.emit(sys.chat, "CreditsWithdrawn").withArgs(consumerAddress, sys.owner.address, escrow - reimbursed.amount);
    });

    it("reimburses at the finalizer's own gas price when it is below the requester's maximum", async function () {
      const sys = await loadFixture(deployFixture);
      const consumer = await ethers.deployContract("ExampleChatConsumer", [await sys.chat.getAddress()]);
      const maxPrice = ethers.parseUnits("10", "gwei");
      await consumer.connect(sys.requester).ask(MODEL_ID, PROMPT, 32, maxPrice, { value: MINIMUM_FEE + 60_000n * maxPrice });
      const requestId = await sys.chat.requestCount();
      const members = await drawCommittee(sys, requestId);
      for (const m of members) await commit(sys, requestId, m);
      await reveal(sys, requestId, members[0]);
      const gasPrice = ethers.parseUnits("2", "gwei");
      const tx = await sys.chat.connect(members[1]).revealResponse(requestId, ANSWER, SALT, { gasPrice });
      const reimbursed = await eventArgs(sys, tx, "CallbackReimbursed");
      expect(reimbursed.amount).to.equal(reimbursed.gasUsed * gasPrice);
    });

    it("contains a consumer that burns all its gas, and charges the burnt gas to the escrow", async function () {
      const sys = await loadFixture(deployFixture);
      const burner = await ethers.deployContract("GasBurningConsumer");
      const { requestId, members, tx } = await finalizeWith(sys, await burner.getAddress(), 200_000);
      await expect(tx).to.emit(sys.chat, "ConsumerCallbackFailed").withArgs(requestId, await burner.getAddress());
      await expect(tx).to.emit(sys.chat, "CallbackReimbursed").withArgs(requestId, members[1].address, 200_000, 200_000);
      const record = await sys.chat.getRecord(requestId);
      expect(record.status).to.equal(Status.Finalized);
      expect(record.callbackFailed).to.equal(true);
      expect(record.consumer).to.equal(await burner.getAddress());
      expect(record.callbackGasLimit).to.equal(200_000n);
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
      const guard = sys.chat.interface.getError(GUARD)!.selector;
      expect(await reentrant.lastWithdrawError()).to.equal(guard);
      expect(await reentrant.lastTimeoutError()).to.equal(guard);
      expect(await reentrant.lastRevealError()).to.equal(guard);
      expect(await reentrant.lastRespondError()).to.equal(guard);
      expect(await reentrant.lastSettleError()).to.equal(guard);
      // commitResponse makes no value transfer and has no guard: the record's status stops the reentrant commit.
      const finalized = sys.chat.interface.encodeErrorResult("ChatRecordRegistryInvalidStatus", [requestId, Status.Finalized]);
      expect(await reentrant.lastCommitError()).to.equal(finalized);
      expect(await reentrant.calls()).to.equal(1n);
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.Finalized);
    });

    it("makes a revealer that sends too little gas for the callback retry", async function () {
      const sys = await loadFixture(deployFixture);
      const burner = await ethers.deployContract("GasBurningConsumer");
      const { requestId, tx } = await finalizeWith(sys, await burner.getAddress(), 1_000_000, { gasLimit: 400_000 });
      await expect(tx).to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInsufficientGasForCallback")
        .withArgs(requestId, anyValue, 1_000_000);
    });
  });

  describe("timeout", function () {
    it("slashes members that missed their commit and reassigns once a quorum cannot commit", async function () {
      const sys = await loadFixture(deployFixture);
      const { requestId, members } = await requestAndDraw(sys);
      await commit(sys, requestId, members[0]);
      const { commitDeadline } = await sys.chat.getRecord(requestId);
      await expect(sys.chat.timeout(requestId))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryTimeoutNotReached").withArgs(requestId, commitDeadline, anyValue);
      await time.increaseTo(commitDeadline + 1n);
      const tx = await sys.chat.timeout(requestId);
      const block = (await ethers.provider.getBlock((await tx.wait())!.blockNumber))!;
      const now = BigInt(block.timestamp);
      await expect(tx).to.emit(sys.chat, "RequestTimedOut").withArgs(requestId, 1, false);
      await expect(tx).to.emit(sys.chat, "CommitteeReassigned")
        .withArgs(requestId, 2, block.number, now + BigInt(COMMIT_WINDOW), now + BigInt(COMMIT_WINDOW + REVEAL_WINDOW));
      await expect(tx).to.emit(sys.chat, "MemberSlashed").withArgs(requestId, members[1].address, SlashReason.MissedCommit, SLASH_AMOUNT);
      await expect(tx).to.emit(sys.chat, "MemberSlashed").withArgs(requestId, members[2].address, SlashReason.MissedCommit, SLASH_AMOUNT);
      const record = await sys.chat.getRecord(requestId);
      expect(record.attempt).to.equal(2n);
      expect(record.status).to.equal(Status.Requested);
      expect(record.seedBlock).to.equal(BigInt(block.number));
      expect(record.commitDeadline).to.equal(now + BigInt(COMMIT_WINDOW));
      // The new attempt's committee is drawn lazily too, with nobody's progress carried over.
      expect(record.committee).to.deep.equal([]);
      await expect(sys.chat.draw(requestId)).to.emit(sys.chat, "CommitteeDrawn").withArgs(requestId, 2, anyValue);
      expect((await sys.chat.getMembers(requestId)).every((m) => !m.committed)).to.equal(true);
    });

    it("draws a committee nobody drew before slashing it", async function () {
      const sys = await loadFixture(deployFixture);
      const requestId = await requestChat(sys);
      await time.increase(COMMIT_WINDOW + 1);
      const tx = await sys.chat.timeout(requestId);
      const drawn = await eventArgs(sys, tx, "CommitteeDrawn");
      expect(drawn.attempt).to.equal(1n);
      for (const member of drawn.committee) {
        await expect(tx).to.emit(sys.chat, "MemberSlashed").withArgs(requestId, member, SlashReason.MissedCommit, SLASH_AMOUNT);
      }
    });

    it("waits for the reveal deadline once a quorum committed, then slashes missed reveals and times out for good", async function () {
      const sys = await loadFixture(deployFixture);
      await sys.chat.setConfig({ ...sys.config, maxAttempts: 1 });
      const { requestId, members } = await requestAndDraw(sys);
      await commit(sys, requestId, members[0]);
      await commit(sys, requestId, members[1]);
      const { commitDeadline, revealDeadline } = await sys.chat.getRecord(requestId);
      await time.increaseTo(commitDeadline + 1n);
      await reveal(sys, requestId, members[0]);
      await expect(sys.chat.timeout(requestId))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryTimeoutNotReached").withArgs(requestId, revealDeadline, anyValue);
      await time.increaseTo(revealDeadline + 1n);
      const tx = sys.chat.timeout(requestId);
      await expect(tx).to.emit(sys.chat, "RequestTimedOut").withArgs(requestId, 1, true);
      await expect(tx).to.emit(sys.chat, "MemberSlashed").withArgs(requestId, members[1].address, SlashReason.MissedReveal, SLASH_AMOUNT);
      await expect(tx).to.emit(sys.chat, "MemberSlashed").withArgs(requestId, members[2].address, SlashReason.MissedCommit, SLASH_AMOUNT);
      await expect(tx).to.emit(sys.chat, "Credited").withArgs(sys.requester.address, requestId, MINIMUM_FEE);
      const record = await sys.chat.getRecord(requestId);
      expect(record.status).to.equal(Status.TimedOut);
      expect(record.settled).to.equal(true);
      await expect(sys.chat.timeout(requestId))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidStatus").withArgs(requestId, Status.TimedOut);
      expect(await sys.chat.creditOf(sys.requester.address)).to.equal(MINIMUM_FEE);
    });

    it("credits the fee and the unused escrow back when the last attempt times out", async function () {
      const sys = await loadFixture(deployFixture);
      await sys.chat.setConfig({ ...sys.config, maxAttempts: 1 });
      const requestId = await requestChat(sys, { consumer: sys.outsider.address, callbackGasLimit: 50_000, maxCallbackGasPrice: 3n });
      await time.increase(COMMIT_WINDOW + 1);
      await expect(sys.chat.timeout(requestId)).to.emit(sys.chat, "Credited").withArgs(sys.requester.address, requestId, MINIMUM_FEE + 150_000n);
      expect(await sys.chat.creditOf(sys.requester.address)).to.equal(await chatBalance(sys));
    });

    it("reports missed commits without touching stakes when the slash amount is zero", async function () {
      const sys = await loadFixture(deployFixture);
      await sys.chat.setConfig({ ...sys.config, slashAmount: 0n });
      const { requestId, members } = await requestAndDraw(sys);
      const stakes = await Promise.all(members.map((m) => sys.registry.stakeOf(m.address)));
      await time.increaseTo((await sys.chat.getRecord(requestId)).commitDeadline + 1n);
      const tx = sys.chat.timeout(requestId);
      for (const m of members) {
        await expect(tx).to.emit(sys.chat, "MemberSlashed").withArgs(requestId, m.address, SlashReason.MissedCommit, 0n);
      }
      await expect(tx).not.to.emit(sys.registry, "ValidatorSlashed");
      expect(await Promise.all(members.map((m) => sys.registry.stakeOf(m.address)))).to.deep.equal(stakes);
    });
  });

  describe("credits and withdraw", function () {
    it("sends all of an account's credits to the recipient it names, once", async function () {
      const sys = await loadFixture(deployFixture);
      await sys.chat.setConfig({ ...sys.config, committeeSize: 1, quorum: 1 });
      const { requestId, members } = await requestAndDraw(sys);
      await sys.chat.connect(members[0]).respond(requestId, ANSWER);
      const [member] = members;
      await expect(sys.chat.connect(member).withdraw(ethers.ZeroAddress)).to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryZeroAddress");
      const tx = sys.chat.connect(member).withdraw(sys.treasury.address);
      await expect(tx).to.emit(sys.chat, "CreditsWithdrawn").withArgs(member.address, sys.treasury.address, MINIMUM_FEE);
      await expect(tx).to.changeEtherBalances([sys.treasury, sys.chat], [MINIMUM_FEE, -MINIMUM_FEE]);
      expect(await sys.chat.creditOf(member.address)).to.equal(0n);
      await expect(sys.chat.connect(member).withdraw(member.address))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryNothingToWithdraw").withArgs(member.address);
    });

    it("adds up a validator's fee shares and its refunds as a requester", async function () {
      const sys = await loadFixture(deployFixture);
      await sys.chat.setConfig({ ...sys.config, committeeSize: 1, quorum: 1, maxAttempts: 1 });
      const { requestId, members } = await requestAndDraw(sys);
      const [member] = members;
      await sys.chat.connect(member).respond(requestId, ANSWER);
      const own = await requestChat(sys, { from: member, fee: 3n * MINIMUM_FEE });
      await time.increase(COMMIT_WINDOW + 1);
      await sys.chat.timeout(own);
      expect(await sys.chat.creditOf(member.address)).to.equal(4n * MINIMUM_FEE);
      await expect(sys.chat.connect(member).withdraw(sys.outsider.address)).to.changeEtherBalance(sys.outsider, 4n * MINIMUM_FEE);
      expect(await chatBalance(sys)).to.equal(0n);
    });

    it("pays credits once to a requester that reenters withdraw", async function () {
      const sys = await loadFixture(deployFixture);
      await sys.chat.setConfig({ ...sys.config, maxAttempts: 1 });
      const requester = await ethers.deployContract("ReentrantRequester", [await sys.chat.getAddress()]);
      await requester.request(MODEL_ID, PROMPT, { value: MINIMUM_FEE });
      const requestId = await requester.requestId();
      await time.increaseTo((await sys.chat.getRecord(requestId)).revealDeadline + 1n);
      await sys.chat.timeout(requestId);
      const held = await chatBalance(sys);
      await expect(requester.claim()).to.emit(sys.chat, "CreditsWithdrawn").withArgs(await requester.getAddress(), await requester.getAddress(), MINIMUM_FEE);
      expect(await requester.lastReentryError()).to.equal(sys.chat.interface.getError(GUARD)!.selector);
      expect(await requester.received()).to.equal(MINIMUM_FEE);
      expect(await chatBalance(sys)).to.equal(held - MINIMUM_FEE);
    });

    it("fails a withdrawal loudly when the recipient rejects ETH, and keeps the credit", async function () {
      const sys = await loadFixture(deployFixture);
      await sys.chat.setConfig({ ...sys.config, maxAttempts: 1 });
      const rejecting = await ethers.deployContract("RejectingReceiver");
      await rejecting.request(await sys.chat.getAddress(), MODEL_ID, PROMPT, { value: MINIMUM_FEE });
      const requestId = await sys.chat.requestCount();
      await time.increaseTo((await sys.chat.getRecord(requestId)).revealDeadline + 1n);
      await sys.chat.timeout(requestId);
      const rejectingAddress = await rejecting.getAddress();
      await expect(rejecting.withdrawTo(await sys.chat.getAddress(), rejectingAddress))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryTransferFailed").withArgs(rejectingAddress, MINIMUM_FEE);
      expect(await sys.chat.creditOf(rejectingAddress)).to.equal(MINIMUM_FEE);
    });
  });

  describe("batch anchoring", function () {
    it("anchors a batch and verifies a record against it", async function () {
      const sys = await loadFixture(deployFixture);
      const [v] = sys.validators;
      const a = [ethers.id("p1"), ethers.id("r1"), MODEL_HASH, v.address] as const;
      const b = [ethers.id("p2"), ethers.id("r2"), MODEL_HASH, v.address] as const;
      const leafA = await sys.chat.recordLeaf(...a);
      const leafB = await sys.chat.recordLeaf(...b);
      const inner = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes32", "bytes32", "address"], [...a]));
      expect(leafA).to.equal(ethers.keccak256(inner));
      const [lo, hi] = BigInt(leafA) < BigInt(leafB) ? [leafA, leafB] : [leafB, leafA];
      const root = ethers.keccak256(ethers.concat([lo, hi]));
      await expect(sys.chat.connect(v).anchorBatch(root, 2, MODEL_ID))
        .to.emit(sys.chat, "BatchAnchored").withArgs(1n, v.address, MODEL_ID, root, 2);
      expect(await sys.chat.verifyRecord(1, ...a, [leafB])).to.equal(true);
      expect(await sys.chat.verifyRecord(1, ...b, [leafA])).to.equal(true);
      expect(await sys.chat.verifyRecord(1, ...a, [leafA])).to.equal(false);
      expect(await sys.chat.verifyRecord(1, a[0], a[1], ethers.id("other model"), v.address, [leafB])).to.equal(false);
      const batch = await sys.chat.getBatch(1);
      expect([batch.count, batch.validator, batch.modelId]).to.deep.equal([2n, v.address, BigInt(MODEL_ID)]);
      expect(await sys.chat.batchCount()).to.equal(1n);
      await expect(sys.chat.verifyRecord(2, ...a, [])).to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryUnknownBatch").withArgs(2);
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

  describe("committee of one", function () {
    it("finalizes with respond and leaves nothing to settle", async function () {
      const sys = await loadFixture(deployFixture);
      await sys.chat.setConfig({ ...sys.config, committeeSize: 1, quorum: 1 });
      const { requestId, members } = await requestAndDraw(sys);
      expect(members).to.have.length(1);
      const tx = sys.chat.connect(members[0]).respond(requestId, ANSWER);
      await expect(tx).to.emit(sys.chat, "ResponseRevealed").withArgs(requestId, members[0].address, responseHashOf(ANSWER), ANSWER);
      await expect(tx).to.emit(sys.chat, "RecordFinalized").withArgs(requestId, responseHashOf(ANSWER), MODEL_ID, [members[0].address]);
      expect(await sys.chat.creditOf(members[0].address)).to.equal(MINIMUM_FEE);
      const states = await sys.chat.getMembers(requestId);
      expect([states[0].committed, states[0].revealed, states[0].responseHash]).to.deep.equal([true, true, responseHashOf(ANSWER)]);
      expect((await sys.chat.getRecord(requestId)).settled).to.equal(true);
      await time.increase(COMMIT_WINDOW + REVEAL_WINDOW + 1);
      await expect(sys.chat.settle(requestId)).to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryAlreadySettled").withArgs(requestId);
      expect(await sys.chat.randomnessSource()).to.equal(await sys.randomness.getAddress());
    });

    it("also accepts commit and reveal", async function () {
      const sys = await loadFixture(deployFixture);
      await sys.chat.setConfig({ ...sys.config, committeeSize: 1, quorum: 1 });
      const { requestId, members } = await requestAndDraw(sys);
      await commit(sys, requestId, members[0]);
      await expect(sys.chat.connect(members[0]).respond(requestId, ANSWER))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryAlreadyCommitted").withArgs(requestId, members[0].address);
      await expect(reveal(sys, requestId, members[0]))
        .to.emit(sys.chat, "RecordFinalized").withArgs(requestId, responseHashOf(ANSWER), MODEL_ID, [members[0].address]);
      expect(await sys.chat.creditOf(members[0].address)).to.equal(MINIMUM_FEE);
      expect(await sys.chat.computeCommitment(requestId, members[0].address, responseHashOf(ANSWER), SALT))
        .to.equal(commitmentOf(requestId, members[0].address, ANSWER, SALT));
    });
  });
});
