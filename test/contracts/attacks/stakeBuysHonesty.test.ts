import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { buildMerkleTree, hashPair } from "../../../oracle/src/store/merkle";
import { recordLeaf } from "../../../oracle/src/store/recordLeaf";
import {
  COMMIT_WINDOW, DeclineReason, MINIMUM_FEE, MINIMUM_STAKE, MODEL_HASH, MODEL_ID, MODEL_LIMITS, REVEAL_WINDOW,
  SLASH_AMOUNT, SlashReason, Status, UNIT, commitmentOf, deploySystem, drawCommittee, requestChat, responseHashOf,
  stakeAs,
} from "../fixtures";

// Each test performs one attack from the contracts security review and asserts the secure outcome.

const SALT = ethers.id("salt");
const ANSWER = "Paris.";

type System = Awaited<ReturnType<typeof deploySystem>>;

async function commitAll(sys: System, requestId: bigint, members: HardhatEthersSigner[], texts: string[]) {
  for (let i = 0; i < members.length; i++) {
    await sys.chat.connect(members[i]).commitResponse(requestId, commitmentOf(requestId, members[i].address, texts[i], SALT));
  }
}

const committee3 = () => deploySystem({ committeeSize: 3, quorum: 2, maxAttempts: 3, validatorCount: 5 });
const committee1 = () => deploySystem({ committeeSize: 1, quorum: 1, maxAttempts: 2, validatorCount: 3 });
const committee5 = () => deploySystem({ committeeSize: 5, quorum: 3, maxAttempts: 2, validatorCount: 6 });
const emptyPool = () => deploySystem({ committeeSize: 3, quorum: 2, maxAttempts: 2, validatorCount: 0 });

describe("attacks: stake buys honesty", function () {
  describe("1. a requester cannot choose its committee", function () {
    // Colluders hold 2 of 5 equal stakes. A committee of 3 seats both of them (a quorum) with probability
    // C(3,1)/C(5,3) = 0.3. A grinder that previews and reverts unwanted committees got 100 % on the old design.
    const share = 0.3;
    const tries = 60;
    const bound = share + 3 * Math.sqrt((share * (1 - share)) / tries);

    async function grinder(sys: System) {
      const colluders = [sys.validators[0].address, sys.validators[1].address];
      return ethers.deployContract("GrindingRequester", [await sys.chat.getAddress(), colluders]);
    }

    const colludersSeated = async (sys: System, requestId: bigint) => {
      const committee = await drawCommittee(sys, requestId);
      return committee.filter((m) => m === sys.validators[0] || m === sys.validators[1]).length;
    };

    it("grinding first draws seats colluders no more often than their stake allows", async function () {
      const sys = await loadFixture(committee3);
      const attacker = await grinder(sys);
      let favourable = 0;
      for (let i = 0; i < tries; i++) {
        await attacker.grindRequest(MODEL_ID, ethers.toUtf8Bytes(`prompt ${i}`), 2, { value: MINIMUM_FEE });
        const requestId = await sys.chat.requestCount();
        if ((await colludersSeated(sys, requestId)) >= 2) favourable++;
      }
      expect(await attacker.previewsSeen()).to.equal(0n); // the committee never existed inside its transaction
      expect(await sys.chat.requestCount()).to.equal(BigInt(tries));
      expect(favourable / tries).to.be.at.most(bound);
    });

    it("grinding timeouts seats colluders in reassignments no more often than their stake allows", async function () {
      const sys = await loadFixture(committee3);
      const attacker = await grinder(sys);
      let favourable = 0;
      for (let i = 0; i < tries; i++) {
        const requestId = await requestChat(sys, { prompt: `timeout ${i}` });
        await time.increase(COMMIT_WINDOW + 1); // nobody committed: early timeout allowed
        await attacker.grindTimeout(requestId, 2);
        if ((await colludersSeated(sys, requestId)) >= 2) favourable++;
        // Keep the pool intact for the next round: top up the slashed no-shows.
        for (const v of sys.validators) {
          const missing = 1000n * UNIT - (await sys.registry.stakeOf(v.address));
          if (missing > 0n) await stakeAs(sys.token, sys.registry, v, missing);
        }
      }
      expect(await attacker.previewsSeen()).to.equal(0n);
      expect(favourable / tries).to.be.at.most(bound);
    });

    it("a seed lost to the 256-block window is renewed, not stuck", async function () {
      const sys = await loadFixture(committee3);
      const requestId = await requestChat(sys);
      await mine(260, { interval: 1 }); // past the 256-block window, inside the commit window
      const before = (await sys.chat.getRecord(requestId)).seedBlock;
      const [, ready] = await sys.chat.previewCommittee(requestId);
      expect(ready).to.equal(false);
      await expect(sys.chat.draw(requestId)).to.emit(sys.chat, "SeedRenewed");
      const renewed = (await sys.chat.getRecord(requestId)).seedBlock;
      expect(renewed).to.be.greaterThan(before);
      const members = await drawCommittee(sys, requestId);
      expect(members).to.have.length(3);
      await commitAll(sys, requestId, members, [ANSWER, ANSWER, ANSWER]);
    });

    it("a commit before the seed block is past reverts with the seed block", async function () {
      const sys = await loadFixture(committee3);
      await ethers.provider.send("evm_setAutomine", [false]);
      try {
        await sys.chat.connect(sys.requester).requestChat(MODEL_ID, ethers.toUtf8Bytes("same block"), 16, ethers.ZeroAddress, 0, 0, { value: MINIMUM_FEE });
        const tx = await sys.chat.connect(sys.outsider).draw(1, { gasLimit: 500_000 });
        await mine(1);
        await expect(tx.wait()).to.be.rejected; // drawn in the request's own block: its hash does not exist yet
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
      }
      const block = await ethers.provider.getBlockNumber();
      expect((await sys.chat.getRecord(1)).seedBlock).to.equal(BigInt(block));
      await expect(sys.chat.connect(sys.validators[0]).commitResponse(1, ethers.ZeroHash)).to.not.be.revertedWithCustomError(sys.chat, "ChatRecordRegistrySeedNotReady");
    });
  });

  describe("2. nobody can burn honest stake for free", function () {
    it("prompts and generation lengths beyond the model's limits are refused at request time", async function () {
      const sys = await loadFixture(committee3);
      const tooLong = new Uint8Array(MODEL_LIMITS.maxPromptBytes + 1).fill(0x61);
      await expect(requestChat(sys, { prompt: tooLong }))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryPromptTooLong")
        .withArgs(MODEL_ID, MODEL_LIMITS.maxPromptBytes + 1, MODEL_LIMITS.maxPromptBytes);
      await expect(requestChat(sys, { maxNewTokens: MODEL_LIMITS.maxNewTokens + 1 }))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidMaxNewTokens")
        .withArgs(MODEL_ID, MODEL_LIMITS.maxNewTokens + 1, MODEL_LIMITS.maxNewTokens);
      await expect(requestChat(sys, { maxNewTokens: 0 }))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidMaxNewTokens");
      await expect(sys.chat.registerModel(7, MODEL_HASH, { maxPromptBytes: 10, maxNewTokens: 64, contextLength: 64 }, ""))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidModelLimits").withArgs(7, 10, 64, 64);
      const model = await sys.chat.getModel(MODEL_ID);
      expect(model.limits.contextLength).to.equal(BigInt(MODEL_LIMITS.contextLength));
    });

    it("an unservable request ends Declined: decliners paid, nobody slashed, no refund to the griefer", async function () {
      const sys = await loadFixture(committee3);
      const requestId = await requestChat(sys, { prompt: new Uint8Array([0x48, 0x69, 0xff, 0xfe, 0x21]) });
      const members = await drawCommittee(sys, requestId);
      const stakesBefore = await Promise.all(sys.validators.map((v) => sys.registry.stakeOf(v.address)));
      await expect(sys.chat.connect(members[0]).declineRequest(requestId, DeclineReason.InvalidPrompt))
        .to.emit(sys.chat, "ResponseDeclined").withArgs(requestId, members[0].address, DeclineReason.InvalidPrompt);
      await expect(sys.chat.connect(members[1]).declineRequest(requestId, DeclineReason.InvalidPrompt))
        .to.emit(sys.chat, "RequestDeclined").withArgs(requestId, [members[0].address, members[1].address]);
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.Declined);
      // The third member had not acted yet: it declines too, after the quorum, and is paid, not slashed.
      await expect(sys.chat.connect(members[2]).declineRequest(requestId, DeclineReason.InvalidPrompt))
        .to.emit(sys.chat, "ResponseDeclined").withArgs(requestId, members[2].address, DeclineReason.InvalidPrompt);
      const share = MINIMUM_FEE / 3n;
      const remainder = MINIMUM_FEE - 3n * share;
      expect(await sys.chat.creditOf(members[0].address)).to.equal(share + remainder);
      expect(await sys.chat.creditOf(members[2].address)).to.equal(share);
      await time.increase(COMMIT_WINDOW + 1);
      await expect(sys.chat.connect(members[2]).declineRequest(requestId, DeclineReason.InvalidPrompt))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryCommitPhaseClosed");
      await time.increase(REVEAL_WINDOW);
      await expect(sys.chat.settle(requestId)).to.emit(sys.chat, "RequestSettled").withArgs(requestId, 0)
        .and.not.to.emit(sys.chat, "MemberSlashed");
      for (const [i, v] of sys.validators.entries()) expect(await sys.registry.stakeOf(v.address)).to.equal(stakesBefore[i]);
      expect(await sys.chat.creditOf(sys.requester.address)).to.equal(0n); // the griefer gets nothing back
      await expect(sys.chat.settle(requestId)).to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryAlreadySettled");
    });

    it("a member that neither declined nor answered a declined request is slashed at settlement", async function () {
      const sys = await loadFixture(committee3);
      const requestId = await requestChat(sys, { prompt: new Uint8Array([0xff]) });
      const members = await drawCommittee(sys, requestId);
      for (const m of members.slice(0, 2)) await sys.chat.connect(m).declineRequest(requestId, DeclineReason.InvalidPrompt);
      await time.increase(COMMIT_WINDOW + REVEAL_WINDOW + 1);
      const share = MINIMUM_FEE / 3n;
      await expect(sys.chat.settle(requestId))
        .to.emit(sys.chat, "MemberSlashed").withArgs(requestId, members[2].address, SlashReason.MissedCommit, SLASH_AMOUNT)
        .and.to.emit(sys.chat, "RequestSettled").withArgs(requestId, share);
    });

    it("a committee of one declines alone", async function () {
      const sys = await loadFixture(committee1);
      const requestId = await requestChat(sys);
      const [member] = await drawCommittee(sys, requestId);
      await expect(sys.chat.connect(member).declineRequest(requestId, DeclineReason.PromptTooLong))
        .to.emit(sys.chat, "RequestDeclined").withArgs(requestId, [member.address]);
      expect(await sys.chat.creditOf(member.address)).to.equal(MINIMUM_FEE);
    });
  });

  describe("3. withheld dissent and no-shows do not escape once a quorum finalizes", function () {
    it("late agreeing reveals are paid, late dissent and silence are slashed at settlement, once", async function () {
      const sys = await loadFixture(committee5);
      const requestId = await requestChat(sys);
      const m = await drawCommittee(sys, requestId);
      // m0..m2 agree, m3 commits another answer and withholds it, m4 never commits.
      await commitAll(sys, requestId, m.slice(0, 4), [ANSWER, ANSWER, ANSWER, "Lyon."]);
      await time.increase(COMMIT_WINDOW + 1);
      await sys.chat.connect(m[0]).revealResponse(requestId, ANSWER, SALT);
      await sys.chat.connect(m[1]).revealResponse(requestId, ANSWER, SALT);
      await time.increase(10);
      await expect(sys.chat.connect(m[2]).revealResponse(requestId, ANSWER, SALT)).to.emit(sys.chat, "RecordFinalized");
      const share = MINIMUM_FEE / 5n;
      expect(await sys.chat.creditOf(m[2].address)).to.equal(share);
      // The settle is not due before the reveal deadline.
      await expect(sys.chat.settle(requestId)).to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryTimeoutNotReached");
      await time.increase(REVEAL_WINDOW);
      await expect(sys.chat.settle(requestId))
        .to.emit(sys.chat, "MemberSlashed").withArgs(requestId, m[4].address, SlashReason.MissedCommit, SLASH_AMOUNT)
        .and.to.emit(sys.chat, "MemberSlashed").withArgs(requestId, m[3].address, SlashReason.MissedReveal, SLASH_AMOUNT)
        .and.to.emit(sys.chat, "RequestSettled").withArgs(requestId, MINIMUM_FEE - 3n * share);
      expect(await sys.chat.creditOf(sys.requester.address)).to.equal(MINIMUM_FEE - 3n * share);
      await expect(sys.chat.settle(requestId)).to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryAlreadySettled");
    });

    it("an agreeing member revealing after quorum is paid; a dissenting one is slashed at once", async function () {
      const sys = await loadFixture(committee5);
      const requestId = await requestChat(sys);
      const m = await drawCommittee(sys, requestId);
      await commitAll(sys, requestId, m, [ANSWER, ANSWER, ANSWER, ANSWER, "Lyon."]);
      for (const member of m.slice(0, 3)) await sys.chat.connect(member).revealResponse(requestId, ANSWER, SALT);
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.Finalized);
      await expect(sys.chat.connect(m[3]).revealResponse(requestId, ANSWER, SALT))
        .to.emit(sys.chat, "Credited").withArgs(m[3].address, requestId, MINIMUM_FEE / 5n);
      await expect(sys.chat.connect(m[4]).revealResponse(requestId, "Lyon.", SALT))
        .to.emit(sys.chat, "MemberSlashed").withArgs(requestId, m[4].address, SlashReason.Dissent, SLASH_AMOUNT);
      expect((await sys.chat.getRecord(requestId)).responseHash).to.equal(responseHashOf(ANSWER));
    });
  });

  describe("4. the requester pays for its callback's gas", function () {
    it("a gas-burning consumer costs the finalizer nothing: it is reimbursed from the requester's escrow", async function () {
      const sys = await loadFixture(committee1);
      const burner = await ethers.deployContract("GasBurningConsumer");
      const gasLimit = 1_000_000;
      const maxPrice = ethers.parseUnits("5", "gwei");
      const requestId = await requestChat(sys, { consumer: await burner.getAddress(), callbackGasLimit: gasLimit, maxCallbackGasPrice: maxPrice });
      const [member] = await drawCommittee(sys, requestId);
      const gasPrice = ethers.parseUnits("3", "gwei");
      const tx = await sys.chat.connect(member).respond(requestId, ANSWER, { gasLimit: 2_000_000, gasPrice });
      const receipt = await tx.wait();
      const reimbursed = receipt!.logs
        .map((log) => { try { return sys.chat.interface.parseLog(log); } catch { return null; } })
        .find((e) => e?.name === "CallbackReimbursed")!;
      const gasUsed = reimbursed.args.gasUsed as bigint;
      expect(gasUsed).to.be.at.most(BigInt(gasLimit));
      expect(gasUsed).to.be.greaterThan(BigInt(gasLimit) * 95n / 100n); // it burned all it was given
      expect(reimbursed.args.amount).to.equal(gasUsed * gasPrice);
      expect(await sys.chat.creditOf(member.address)).to.equal(MINIMUM_FEE + gasUsed * gasPrice);
      const escrow = BigInt(gasLimit) * maxPrice;
      expect(await sys.chat.creditOf(sys.requester.address)).to.equal(escrow - gasUsed * gasPrice);
      // Everything the requester paid is accounted for in credits.
      expect(await ethers.provider.getBalance(await sys.chat.getAddress())).to.equal(MINIMUM_FEE + escrow);
    });

    it("callback gas without escrow, or escrow without a consumer, is refused", async function () {
      const sys = await loadFixture(committee1);
      const consumer = sys.outsider.address;
      await expect(requestChat(sys, { consumer, callbackGasLimit: 100_000, maxCallbackGasPrice: 1n, fee: 0n }))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryFeeTooLow");
      await expect(requestChat(sys, { consumer, callbackGasLimit: 0 }))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidCallback").withArgs(consumer, 0, 0);
      await expect(requestChat(sys, { callbackGasLimit: 1000 }))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidCallback").withArgs(ethers.ZeroAddress, 1000, 0);
    });
  });

  describe("5. refunds are pull credits", function () {
    it("a requester contract without receive() gets its timed-out fee to a recipient it names", async function () {
      const sys = await loadFixture(committee1);
      const requester = await ethers.deployContract("RejectingReceiver");
      await requester.request(await sys.chat.getAddress(), MODEL_ID, "hello", { value: MINIMUM_FEE });
      const requestId = await sys.chat.requestCount();
      await time.increase(COMMIT_WINDOW + 1);
      await sys.chat.timeout(requestId);
      await time.increase(COMMIT_WINDOW + 1);
      await sys.chat.timeout(requestId);
      expect((await sys.chat.getRecord(requestId)).status).to.equal(Status.TimedOut);
      expect(await sys.chat.creditOf(await requester.getAddress())).to.equal(MINIMUM_FEE);
      await expect(requester.withdrawTo(await sys.chat.getAddress(), sys.outsider.address)).to.changeEtherBalance(sys.outsider, MINIMUM_FEE);
      expect(await sys.chat.creditOf(await requester.getAddress())).to.equal(0n);
    });

    it("withdrawing again from the receive hook finds nothing", async function () {
      const sys = await loadFixture(committee1);
      const requester = await ethers.deployContract("ReentrantRequester", [await sys.chat.getAddress()]);
      await requester.request(MODEL_ID, "hello", { value: MINIMUM_FEE });
      for (let i = 0; i < 2; i++) {
        await time.increase(COMMIT_WINDOW + 1);
        await sys.chat.timeout(1);
      }
      await requester.claim();
      expect(await requester.received()).to.equal(MINIMUM_FEE);
      const reentry = await requester.lastReentryError();
      expect(reentry.slice(0, 10)).to.equal(sys.chat.interface.getError("ReentrancyGuardReentrantCall")!.selector);
    });
  });

  describe("6. the example consumer only accepts answers to its own requests", function () {
    it("a stranger naming the example as consumer gets a failed callback and no stored answer", async function () {
      const sys = await loadFixture(committee1);
      const example = await ethers.deployContract("ExampleChatConsumer", [await sys.chat.getAddress()]);
      const requestId = await requestChat(sys, { consumer: await example.getAddress(), callbackGasLimit: 60_000, maxCallbackGasPrice: 1n });
      const [member] = await drawCommittee(sys, requestId);
      await expect(sys.chat.connect(member).respond(requestId, ANSWER))
        .to.emit(sys.chat, "ConsumerCallbackFailed").withArgs(requestId, await example.getAddress());
      expect(await example.answers(requestId)).to.equal(ethers.ZeroHash);
      // Its own request is answered.
      await example.ask(MODEL_ID, "own question", 16, 1n, { value: MINIMUM_FEE + 60_000n });
      const own = await sys.chat.requestCount();
      const [ownMember] = await drawCommittee(sys, own);
      await expect(sys.chat.connect(ownMember).respond(own, ANSWER)).to.emit(example, "AnswerReceived").withArgs(own, responseHashOf(ANSWER));
    });
  });

  describe("7. only real records verify against a batch", function () {
    it("an inner Merkle node cannot pass as a record", async function () {
      const sys = await loadFixture(committee1);
      const validator = sys.validators[0];
      const records = [0, 1, 2, 3].map((i) => ({ promptHash: ethers.id(`p${i}`), responseHash: ethers.id(`r${i}`), modelHash: MODEL_HASH, validator: validator.address }));
      const leaves = records.map(recordLeaf);
      const tree = buildMerkleTree(leaves);
      await sys.chat.connect(validator).anchorBatch(tree.root, records.length, MODEL_ID);
      const proof = tree.proof(0);
      const { promptHash: p, responseHash: r, modelHash: mh, validator: v } = records[0];
      expect(await sys.chat.verifyRecord(1, p, r, mh, v, proof)).to.equal(true);
      // The old API took the leaf itself, so the inner node hash(leaf0, leaf1) with proof [node(2,3)] verified. Now
      // the leaf is computed from record fields: whatever fields carry that node, the result is not that node.
      const inner = hashPair(leaves[0], leaves[1]);
      expect(await sys.chat.verifyRecord(1, inner, ethers.ZeroHash, mh, v, proof.slice(1))).to.equal(false);
      expect(await sys.chat.verifyRecord(1, leaves[0], leaves[1], mh, v, proof.slice(1))).to.equal(false);
      expect(await sys.chat.verifyRecord(1, p, r, mh, sys.validators[1].address, proof)).to.equal(false);
    });
  });

  describe("8. a seated no-show cannot withdraw before its seat is settled", function () {
    it("unbonding stake of a seated member stays locked and slashable, whatever the unbonding period", async function () {
      const sys = await loadFixture(committee1);
      const requestId = await requestChat(sys);
      const [member] = await drawCommittee(sys, requestId);
      await sys.registry.setUnbondingPeriod(0);
      const stake = await sys.registry.stakeOf(member.address);
      await sys.registry.connect(member).requestUnstake(stake);
      const lockedUntil = await sys.chat.stakeLockedUntil(member.address);
      await expect(sys.registry.connect(member).withdraw())
        .to.be.revertedWithCustomError(sys.registry, "ValidatorRegistryStakeLocked");
      await time.increase(COMMIT_WINDOW + 1);
      await expect(sys.chat.timeout(requestId))
        .to.emit(sys.chat, "MemberSlashed").withArgs(requestId, member.address, SlashReason.MissedCommit, SLASH_AMOUNT);
      await time.increaseTo(lockedUntil + 1n);
      await expect(sys.registry.connect(member).withdraw()).to.changeTokenBalance(sys.token, member, stake - SLASH_AMOUNT);
    });
  });

  describe("9. timeout slashes before the next committee is drawn", function () {
    it("no-shows pushed below the minimum are never re-seated", async function () {
      const sys = await loadFixture(emptyPool);
      const signers = (await ethers.getSigners()).slice(5, 11);
      for (const v of signers) {
        await stakeAs(sys.token, sys.registry, v, MINIMUM_STAKE);
        sys.byAddress.set(v.address, v);
      }
      const requestId = await requestChat(sys);
      const first = await drawCommittee(sys, requestId);
      await time.increase(COMMIT_WINDOW + 1);
      await sys.chat.timeout(requestId);
      for (const m of first) expect(await sys.registry.isActive(m.address)).to.equal(false);
      const second = await drawCommittee(sys, requestId);
      for (const m of second) expect(first).to.not.include(m);
    });
  });

  describe("10. a request keeps the parameters it was created under", function () {
    it("raising the slash amount does not reach requests already in flight", async function () {
      const sys = await loadFixture(committee1);
      const requestId = await requestChat(sys);
      const [member] = await drawCommittee(sys, requestId);
      await sys.chat.setConfig({ ...sys.config, slashAmount: 50n * UNIT, maxAttempts: 5 });
      expect((await sys.chat.getRequestConfig(requestId)).slashAmount).to.equal(SLASH_AMOUNT);
      await time.increase(COMMIT_WINDOW + 1);
      await expect(sys.chat.timeout(requestId))
        .to.emit(sys.chat, "MemberSlashed").withArgs(requestId, member.address, SlashReason.MissedCommit, SLASH_AMOUNT);
      // maxAttempts stays 2 for it: the second timeout ends it.
      await time.increase(COMMIT_WINDOW + 1);
      await expect(sys.chat.timeout(requestId)).to.emit(sys.chat, "RequestTimedOut").withArgs(requestId, 2, true);
      const later = await requestChat(sys);
      expect((await sys.chat.getRequestConfig(later)).slashAmount).to.equal(50n * UNIT);
    });
  });

  describe("a committee of one answers in two transactions", function () {
    it("request + respond finalizes, pays the member and calls nothing else", async function () {
      const sys = await loadFixture(committee1);
      const requestId = await requestChat(sys);
      const [member] = await drawCommittee(sys, requestId);
      const outsider = sys.validators.find((v) => v !== member)!;
      await expect(sys.chat.connect(outsider).respond(requestId, ANSWER))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryNotCommitteeMember").withArgs(requestId, outsider.address);
      await expect(sys.chat.connect(member).respond(requestId, ANSWER))
        .to.emit(sys.chat, "RecordFinalized").withArgs(requestId, responseHashOf(ANSWER), MODEL_ID, [member.address]);
      const record = await sys.chat.getRecord(requestId);
      expect(record.status).to.equal(Status.Finalized);
      expect(record.settled).to.equal(true);
      expect(await sys.chat.creditOf(member.address)).to.equal(MINIMUM_FEE);
      await expect(sys.chat.connect(member).respond(requestId, ANSWER))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidStatus").withArgs(requestId, Status.Finalized);
    });

    it("respond draws the committee itself when nobody drew it", async function () {
      const sys = await loadFixture(committee1);
      const requestId = await requestChat(sys);
      // A call at "latest" runs in the seed block itself, whose hash does not exist yet; the pending block sees it.
      expect((await sys.chat.previewCommittee(requestId))[1]).to.equal(false);
      const [preview, ready] = await sys.chat.previewCommittee(requestId, { blockTag: "pending" });
      expect(ready).to.equal(true);
      const member = sys.byAddress.get(preview[0])!;
      await expect(sys.chat.connect(member).respond(requestId, ANSWER))
        .to.emit(sys.chat, "CommitteeDrawn").withArgs(requestId, 1, [member.address]);
    });

    it("respond is only for committees of one", async function () {
      const sys = await loadFixture(committee3);
      const requestId = await requestChat(sys);
      const [member] = await drawCommittee(sys, requestId);
      await expect(sys.chat.connect(member).respond(requestId, ANSWER))
        .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryNotSingleMember").withArgs(requestId, 3);
    });
  });
});
