import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  COMMIT_WINDOW, DeclineReason, MINIMUM_FEE, MODEL_HASH, MODEL_ID, REVEAL_WINDOW, Status, deploySystem, drawCommittee,
  requestChat, responseHashOf,
} from "../fixtures";

// Each test performs one attack on conversation threads (`requestChatFollowUp`) and asserts the secure outcome.

type System = Awaited<ReturnType<typeof deploySystem>>;

const committee1 = () => deploySystem({ committeeSize: 1, quorum: 1, maxAttempts: 1, validatorCount: 3 });

const threadsOf = async (sys: System) => ethers.getContractAt("ChatThreads", await sys.chat.threadsContract());

/** A committee of one answers `requestId` with `text` (finalized in one transaction). */
async function answer(sys: System, requestId: bigint, text: string) {
  const [member] = await drawCommittee(sys, requestId);
  await sys.chat.connect(member).respond(requestId, text);
}

/** Sends `requestChatFollowUp` extending `parentId` from `from` (the requester by default); returns the transaction. */
function extend(sys: System, parentId: bigint, prompt: string, from = sys.requester) {
  return sys.chat.connect(from).requestChatFollowUp(parentId, ethers.toUtf8Bytes(prompt), 32, ethers.ZeroAddress, 0, 0, { value: MINIMUM_FEE });
}

/** keccak256(abi.encode(previousRecordHash, requestId, promptHash, responseHash, modelHash)), computed off-chain. */
function recordHash(previous: string, requestId: bigint, prompt: string, response: string) {
  return ethers.keccak256(
    ethers.AbiCoder.defaultAbiCoder().encode(
      ["bytes32", "uint256", "bytes32", "bytes32", "bytes32"],
      [previous, requestId, ethers.keccak256(ethers.toUtf8Bytes(prompt)), responseHashOf(response), MODEL_HASH],
    ),
  );
}

async function finalizedRoot() {
  const sys = await committee1();
  const rootId = await requestChat(sys, { prompt: "Hi" });
  await answer(sys, rootId, "Hello!");
  return { sys, rootId };
}

describe("attacks: thread hijacking", function () {
  it("reverts when an outsider extends someone else's thread", async function () {
    const { sys, rootId } = await loadFixture(finalizedRoot);
    await expect(extend(sys, rootId, "Now say my words", sys.outsider))
      .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryNotThreadMember")
      .withArgs(rootId, sys.outsider.address);
    expect(await sys.chat.requestCount()).to.equal(rootId);
  });

  it("reverts when an outsider extends a later turn of someone else's thread (membership is per thread)", async function () {
    const { sys, rootId } = await loadFixture(finalizedRoot);
    await extend(sys, rootId, "And then?");
    const second = await sys.chat.requestCount();
    await answer(sys, second, "Then nothing.");
    await expect(extend(sys, second, "Hijack", sys.outsider))
      .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryNotThreadMember")
      .withArgs(rootId, sys.outsider.address);
  });

  it("lets a member the owner allowed extend the thread, until the owner revokes it", async function () {
    const { sys, rootId } = await loadFixture(finalizedRoot);
    const threads = await threadsOf(sys);
    await expect(threads.connect(sys.requester).setThreadMember(rootId, sys.outsider.address, true))
      .to.emit(threads, "ThreadMemberSet").withArgs(rootId, sys.outsider.address, true);
    expect(await threads.isThreadMember(rootId, sys.outsider.address)).to.equal(true);
    await expect(extend(sys, rootId, "May I?", sys.outsider)).to.emit(sys.chat, "ThreadExtended");

    await threads.connect(sys.requester).setThreadMember(rootId, sys.outsider.address, false);
    await expect(extend(sys, rootId, "Again?", sys.outsider))
      .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryNotThreadMember")
      .withArgs(rootId, sys.outsider.address);
  });

  it("reverts when an allowed member (not the owner) lets others into the thread", async function () {
    const { sys, rootId } = await loadFixture(finalizedRoot);
    const threads = await threadsOf(sys);
    const [, , , , , , , , , stranger] = await ethers.getSigners();
    await threads.connect(sys.requester).setThreadMember(rootId, sys.outsider.address, true);
    await expect(threads.connect(sys.outsider).setThreadMember(rootId, stranger.address, true))
      .to.be.revertedWithCustomError(threads, "ChatThreadsNotThreadOwner")
      .withArgs(rootId, sys.outsider.address);
  });

  it("reverts when the parent is still pending", async function () {
    const sys = await loadFixture(committee1);
    const parentId = await requestChat(sys, { prompt: "Hi" });
    await expect(extend(sys, parentId, "Too soon"))
      .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryParentNotFinalized")
      .withArgs(parentId, Status.Requested);
  });

  it("reverts when the parent does not exist", async function () {
    const sys = await loadFixture(committee1);
    await expect(extend(sys, 42n, "Nothing to extend"))
      .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryUnknownRequest")
      .withArgs(42n);
  });

  it("reverts for a parent that was pending and then timed out", async function () {
    const sys = await loadFixture(committee1);
    const parentId = await requestChat(sys, { prompt: "Hi" });
    await expect(extend(sys, parentId, "Pending")).to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryParentNotFinalized");
    await time.increase(COMMIT_WINDOW + REVEAL_WINDOW + 1);
    await sys.chat.timeout(parentId);
    await expect(extend(sys, parentId, "After the failure"))
      .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryParentNotFinalized")
      .withArgs(parentId, Status.TimedOut);
  });

  it("reverts for a parent that was declined", async function () {
    const sys = await loadFixture(committee1);
    const parentId = await requestChat(sys, { prompt: "Hi" });
    const [member] = await drawCommittee(sys, parentId);
    await sys.chat.connect(member).declineRequest(parentId, DeclineReason.PromptTooLong);
    await expect(extend(sys, parentId, "Build on nothing"))
      .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryParentNotFinalized")
      .withArgs(parentId, Status.Declined);
  });

  it("hash-links each turn to its parent's finalized record, back to the root", async function () {
    const { sys, rootId } = await loadFixture(finalizedRoot);
    const threads = await threadsOf(sys);
    const first = recordHash(ethers.ZeroHash, rootId, "Hi", "Hello!");
    expect(await threads.threadRecordHash(rootId)).to.equal(first);

    await expect(extend(sys, rootId, "How are you?"))
      .to.emit(sys.chat, "ThreadExtended").withArgs(rootId + 1n, rootId, rootId, first);
    const second = rootId + 1n;
    await answer(sys, second, "Fine.");
    const secondHash = recordHash(first, second, "How are you?", "Fine.");
    expect(await threads.threadRecordHash(second)).to.equal(secondHash);

    await extend(sys, second, "Bye");
    const third = second + 1n;
    const link = await sys.chat.threadOfRequest(third);
    expect([link.parentId, link.rootId, link.previousRecordHash]).to.deep.equal([second, rootId, secondHash]);
    expect((await sys.chat.getRecord(third)).modelId).to.equal(BigInt(MODEL_ID));
    const rootLink = await sys.chat.threadOfRequest(rootId);
    expect([rootLink.parentId, rootLink.rootId, rootLink.previousRecordHash]).to.deep.equal([0n, rootId, ethers.ZeroHash]);
  });

  it("does not give a record hash for a turn that is not finalized", async function () {
    const sys = await loadFixture(committee1);
    const requestId = await requestChat(sys, { prompt: "Hi" });
    const threads = await threadsOf(sys);
    await expect(threads.threadRecordHash(requestId))
      .to.be.revertedWithCustomError(sys.chat, "ChatRecordRegistryInvalidStatus")
      .withArgs(requestId, Status.Requested);
  });
});
