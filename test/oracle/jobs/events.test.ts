import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { JsonRpcProvider } from "ethers";
import { computeCommitment, createChatRegistryClient, RequestStatus } from "../../../oracle/src/chain/chatRegistry";
import { hashText } from "../../../oracle/src/store/contentStore";
import { requestChatWithPromptBytes, runRequestToFinal } from "../http/fixture";
import { nodeOverChain } from "./fixtures";

const registryOf = (net: Awaited<ReturnType<typeof nodeOverChain>>["net"]) =>
  createChatRegistryClient(net.deployment.chatRecordRegistry, ethers.provider as unknown as JsonRpcProvider);

describe("event applier", function () {
  it("tracks a request whose prompt is not UTF-8 from its raw bytes and keeps serving the requests after it", async function () {
    const { net, journal, contentStore, drain } = await nodeOverChain();
    const raw = Uint8Array.from([0x48, 0x69, 0xff, 0xfe, 0x21]);
    const poisonId = await requestChatWithPromptBytes(net, raw);
    await (await net.chatRegistry.connect(net.user).requestChat(1, ethers.toUtf8Bytes("a normal prompt"), 8, ethers.ZeroAddress, 0, 0, { value: 10n ** 15n })).wait();
    const normalId = await net.chatRegistry.requestCount();

    await drain();

    expect(journal.processedBlock()).to.equal(await ethers.provider.getBlockNumber());
    // Shown with U+FFFD; the hash is the chain's, of the raw bytes (the pipeline declines it: the text does not hash to it).
    expect(journal.getRequest(poisonId)).to.include({ prompt: "Hi\uFFFD\uFFFD!", promptHash: ethers.keccak256(raw) });
    expect(journal.getRequest(normalId)).to.include({ prompt: "a normal prompt", promptHash: hashText("a normal prompt") });
    // The replaced text is not stored under any hash: it is not the text the chain hashed.
    expect(contentStore.has(ethers.keccak256(raw))).to.equal(false);
    expect(contentStore.has(hashText("Hi\uFFFD\uFFFD!"))).to.equal(false);
    expect(contentStore.get(hashText("a normal prompt"))).to.equal("a normal prompt");
  });

  it("stores revealed responses under the chain's hash, and a reveal that is not UTF-8 under no hash of the chain's", async function () {
    const { net, contentStore, drain } = await nodeOverChain();
    const requestId = await requestChatWithPromptBytes(net, ethers.toUtf8Bytes("reveal me"));
    await (await net.chatRegistry.connect(net.user).draw(requestId)).wait();
    const committee = (await net.chatRegistry.getRecord(requestId)).committee.map((a: string) => net.validators.find((v) => v.address === a)!);
    // Seat 0 reveals raw bytes that are not UTF-8 (the ABI encodes `string` like `bytes`); the others a normal text.
    const raw = Uint8Array.from([0x4f, 0x4b, 0xc3, 0x28]);
    const texts = committee.map((_, i) => (i === 0 ? raw : ethers.toUtf8Bytes("a fine answer")));
    const salt = ethers.ZeroHash.replace(/0$/, "1");
    for (const [i, member] of committee.entries()) {
      const commitment = computeCommitment(requestId, member.address, ethers.keccak256(texts[i]), salt);
      await (await net.chatRegistry.connect(member).commitResponse(requestId, commitment)).wait();
    }
    const selector = net.chatRegistry.interface.getFunction("revealResponse")!.selector;
    for (const [i, member] of committee.entries()) {
      const args = ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "bytes", "bytes32"], [requestId, texts[i], salt]);
      await (await member.sendTransaction({ to: await net.chatRegistry.getAddress(), data: ethers.concat([selector, args]) })).wait();
    }
    await drain();

    expect(contentStore.get(hashText("a fine answer"))).to.equal("a fine answer");
    expect(contentStore.has(ethers.keccak256(raw)), "the chain's hash of the raw bytes names no stored text").to.equal(false);
    expect(contentStore.get(hashText("OK\uFFFD(")), "the text shown is stored under its own hash").to.equal("OK\uFFFD(");
  });

  it("tracks a request with its prompt, hash and commit deadline, and adds jobs only for this node's seated validators", async function () {
    const { net, journal, contentStore, attempts, drain } = await nodeOverChain({ validators: (n) => [n.validators[0].address] });
    const prompt = "what does staking secure?";
    const requestId = await requestChatWithPromptBytes(net, ethers.toUtf8Bytes(prompt), 12);
    await (await net.chatRegistry.connect(net.user).draw(requestId)).wait();
    await drain();

    const record = await registryOf(net).getRecord(requestId);
    expect(journal.getRequest(requestId)).to.include({ prompt, promptHash: hashText(prompt), maxNewTokens: 12, open: true, deadline: record.commitDeadline + 1 });
    expect(contentStore.get(hashText(prompt))).to.equal(prompt);
    expect(attempts).to.deep.equal([{ requestId, attempt: 1 }]);
    // Three validators, a committee of three: every one is seated, but this node runs only the first one's key.
    expect(record.committee).to.have.length(3);
    const jobs = journal.jobsOfRequest(requestId);
    expect(jobs.map((j) => [j.validator, j.round, j.prompt])).to.deep.equal([[net.validators[0].address, 1, prompt]]);
  });

  it("closes this node's jobs as timed out when the committee is reassigned, and moves the deadline to the new attempt's", async function () {
    const { net, journal, attempts, drain } = await nodeOverChain();
    const requestId = await requestChatWithPromptBytes(net, ethers.toUtf8Bytes("nobody answers this one"));
    await (await net.chatRegistry.connect(net.user).draw(requestId)).wait();
    await drain();
    const registry = registryOf(net);
    await time.increaseTo((await registry.getRecord(requestId)).commitDeadline + 1);
    await (await net.chatRegistry.connect(net.user).timeout(requestId)).wait();
    await drain();

    const reassigned = await registry.getRecord(requestId);
    expect(reassigned).to.include({ attempt: 2, status: RequestStatus.Requested });
    expect(journal.jobsOfRequest(requestId).map((j) => [j.round, j.state])).to.deep.equal([
      [1, "timed_out"],
      [1, "timed_out"],
      [1, "timed_out"],
    ]);
    expect(journal.getRequest(requestId)).to.include({ open: true, deadline: reassigned.commitDeadline + 1 });
    expect(attempts).to.deep.equal([
      { requestId, attempt: 1 },
      { requestId, attempt: 2 },
    ]);
  });

  it("tells the seat finder the attempt again when its lost seed is renewed: the new seed seats another committee", async function () {
    const { net, journal, attempts, drain } = await nodeOverChain();
    const requestId = await requestChatWithPromptBytes(net, ethers.toUtf8Bytes("a seed nobody drew in time"));
    await ethers.provider.send("hardhat_mine", ["0x101"]); // the seed block leaves the 256-block window
    const renewal = await (await net.chatRegistry.connect(net.user).draw(requestId)).wait();
    expect(renewal!.logs.map((log) => net.chatRegistry.interface.parseLog(log)?.name)).to.deep.equal(["SeedRenewed"]);
    await drain();
    expect(attempts).to.deep.equal([
      { requestId, attempt: 1 },
      { requestId, attempt: 1 },
    ]);
    expect(journal.jobsOfRequest(requestId)).to.deep.equal([]); // nobody drew: seats come from the seat finder
  });

  it("stores every revealed response, keeps a finalized request open until it is settled, then closes it", async function () {
    const { net, journal, contentStore, drain } = await nodeOverChain();
    const { requestId, text } = await runRequestToFinal(net, "who settles the fees?", { dissent: true });
    await drain();
    expect(contentStore.get(hashText(text))).to.equal(text);
    expect(contentStore.get(hashText(`${text} (dissent)`))).to.equal(`${text} (dissent)`);
    expect(journal.getRequest(requestId)).to.include({ open: true });
    expect(journal.getRequest(requestId)?.finalizedBlock, "finalized at its RecordFinalized's block").to.be.a("number");

    await time.increaseTo((await registryOf(net).getRecord(requestId)).revealDeadline + 1);
    await (await net.chatRegistry.connect(net.user).settle(requestId)).wait();
    await drain();
    expect(journal.getRequest(requestId)?.open).to.equal(false);
  });
});
