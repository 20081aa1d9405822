import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { keccak256, toUtf8Bytes } from "ethers";
import { sharedTinyEngine } from "../helpers/engines";
import { setupSimulation, simulateChat } from "../../scripts/lib/simulate";

describe("scripts/lib/simulate simulateChat", function () {
  this.timeout(120_000);

  it("runs request → committee of 3 → commit/reveal → ExampleChatConsumer's callback, without nodes", async function () {
    const sim = await setupSimulation(hre);
    const consumer = await ethers.deployContract("ExampleChatConsumer", [sim.deployment.addresses.ChatRecordRegistry]);
    const result = await simulateChat(hre, sim, consumer, "What is an oracle?", { response: "A source of truth." });
    expect(result.responseHash).to.equal(keccak256(toUtf8Bytes("A source of truth.")));
    expect(await consumer.answers(result.requestId)).to.equal(result.responseHash);
    expect(result.committee).to.have.length(3);
    expect(result.events).to.include.members(["ChatRequested", "CommitteeDrawn", "ResponseCommitted", "ResponseRevealed", "RecordFinalized"]);
    const chat = await ethers.getContractAt("ChatRecordRegistry", sim.deployment.addresses.ChatRecordRegistry);
    expect((await chat.getRecord(result.requestId)).requester).to.equal(await consumer.getAddress());
  });

  it("answers a committee of one with respond(), and a second request gets its own id", async function () {
    const sim = await setupSimulation(hre, { config: { committeeSize: 1, quorum: 1 } });
    const consumer = await ethers.deployContract("ExampleChatConsumer", [sim.deployment.addresses.ChatRecordRegistry]);
    const first = await simulateChat(hre, sim, consumer, "one");
    const second = await simulateChat(hre, sim, consumer, "two");
    expect(second.requestId).to.equal(first.requestId + 1n);
    expect(first.events).to.not.include("ResponseCommitted");
    expect(await consumer.answers(second.requestId)).to.equal(keccak256(toUtf8Bytes("simulated answer to: two")));
  });

  it("answers with the engine's greedy text when given the engine", async function () {
    const engine = await sharedTinyEngine();
    const sim = await setupSimulation(hre, { modelHash: engine.modelHash });
    const consumer = await ethers.deployContract("ExampleChatConsumer", [sim.deployment.addresses.ChatRecordRegistry]);
    const result = await simulateChat(hre, sim, consumer, "hello", { response: engine, maxNewTokens: 4 });
    const expected = await engine.generate({ prompt: "hello", maxNewTokens: 4 });
    expect(result.responseText).to.equal(expected.text);
    expect(await consumer.answers(result.requestId)).to.equal(result.responseHash);
  });
});
