import { expect } from "chai";
import { id } from "ethers";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { buildMerkleTree } from "../../../oracle/src/store/merkle";
import { recordLeaf } from "../../../oracle/src/store/recordLeaf";
import { deployedNetworkFixture } from "../http/fixture";

/** Cross-checks the TypeScript leaf and tree against ChatRecordRegistry on Hardhat's in-process network. */
describe("record leaves and Merkle proofs against ChatRecordRegistry", function () {
  it("computes the same leaf as recordLeaf on-chain", async () => {
    const { chatRegistry, validators } = await loadFixture(deployedNetworkFixture);
    for (let i = 0; i < 3; i++) {
      const fields = { promptHash: id(`p${i}`), responseHash: id(`r${i}`), modelHash: id("m"), validator: validators[i].address };
      expect(recordLeaf(fields)).to.equal(
        await chatRegistry.recordLeaf(fields.promptHash, fields.responseHash, fields.modelHash, fields.validator),
      );
    }
  });

  it("produces proofs verifyRecord accepts for every record of batches of 1 to 9, and rejects them elsewhere", async () => {
    const { chatRegistry, validators, engine } = await loadFixture(deployedNetworkFixture);
    const anchorer = chatRegistry.connect(validators[0]);
    for (let size = 1; size <= 9; size++) {
      const records = Array.from({ length: size }, (_, i) => ({
        promptHash: id(`prompt ${size}/${i}`),
        responseHash: id(`response ${i}`),
        modelHash: engine.modelHash,
        validator: validators[0].address,
      }));
      const tree = buildMerkleTree(records.map(recordLeaf));
      await (await anchorer.anchorBatch(tree.root, size, 1)).wait();
      const batchId = await chatRegistry.batchCount();
      const verifyOnChain = (r: (typeof records)[number], proof: string[]) =>
        chatRegistry.verifyRecord(batchId, r.promptHash, r.responseHash, r.modelHash, r.validator, proof);
      for (let i = 0; i < size; i++) {
        expect(await verifyOnChain(records[i], tree.proof(i)), `size ${size} record ${i}`).to.equal(true);
      }
      expect(await verifyOnChain({ ...records[0], promptHash: id("not in the batch") }, tree.proof(0))).to.equal(false);
      if (size > 1) expect(await verifyOnChain(records[0], tree.proof(1))).to.equal(false);
    }
  });
});
