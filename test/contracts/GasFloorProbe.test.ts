import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { MINIMUM_FEE, MODEL_ID, deploySystem } from "./fixtures";

// bench:gas reports the probe's lifecycle as the floor of the registry's committee-of-one lifecycle: that holds only
// while the probe writes the same logs (same events, same data sizes) and really seats the drawn member.
const PROMPT = "P".repeat(200);
const RESPONSE = "R".repeat(200);

async function deployFixture() {
  const sys = await deploySystem({ committeeSize: 1, quorum: 1, validatorCount: 5 });
  const probes = [];
  for (const inlineSeed of [false, true]) {
    const probe = await ethers.deployContract("GasFloorProbe", [await sys.registry.getAddress(), await sys.randomness.getAddress(), inlineSeed]);
    await probe.warm(sys.requester.address, sys.validators.map((v) => v.address));
    probes.push(probe);
  }
  return { sys, probes };
}

/** The event (topic0), topic count and data length of every log of the given transactions, in order: what a LOG costs. */
async function logShapes(...txs: { wait(): Promise<unknown> }[]) {
  const shapes: string[] = [];
  for (const tx of txs) {
    const receipt = (await tx.wait()) as { logs: { topics: string[]; data: string }[] };
    for (const log of receipt.logs) shapes.push(`${log.topics[0]} topics ${log.topics.length} data ${log.data.length}`);
  }
  return shapes;
}

describe("GasFloorProbe (the floor of the committee-of-one lifecycle in bench:gas)", () => {
  for (const [index, name] of ["with the randomness source", "with the seed computed inline"].entries()) {
    it(`writes the registry's logs, same events and sizes, ${name}`, async () => {
      const { sys, probes } = await loadFixture(deployFixture);
      const probe = probes[index];

      const chatRequest = await sys.chat.connect(sys.requester)
        .requestChat(MODEL_ID, ethers.toUtf8Bytes(PROMPT), 64, ethers.ZeroAddress, 0, 0, { value: MINIMUM_FEE });
      const requestId = await sys.chat.requestCount();
      const [[member]] = await sys.chat.previewCommittee(requestId, { blockTag: "pending" });
      const chatRespond = await sys.chat.connect(sys.byAddress.get(member)!).respond(requestId, RESPONSE);

      const probeRequest = await probe.connect(sys.requester).request(MODEL_ID, ethers.toUtf8Bytes(PROMPT), 64, { value: MINIMUM_FEE });
      const [probeMember] = await probe.previewCommittee(1, { blockTag: "pending" });
      const probeRespond = await probe.connect(sys.byAddress.get(probeMember)!).respond(1, RESPONSE);

      const registryLogs = await logShapes(chatRequest, chatRespond);
      expect(registryLogs).to.have.length(5);
      expect(await logShapes(probeRequest, probeRespond)).to.deep.equal(registryLogs);
    });
  }

  it("refuses a respond from a validator the draw did not seat", async () => {
    const { sys, probes } = await loadFixture(deployFixture);
    const probe = probes[0];
    await probe.connect(sys.requester).request(MODEL_ID, ethers.toUtf8Bytes(PROMPT), 64, { value: MINIMUM_FEE });
    const [drawn] = await probe.previewCommittee(1, { blockTag: "pending" });
    const other = sys.validators.find((v) => v.address !== drawn)!;
    await expect(probe.connect(other).respond(1, RESPONSE))
      .to.be.revertedWithCustomError(probe, "NotDrawn").withArgs(1, other.address, drawn);
  });
});
