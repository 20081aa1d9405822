import { expect } from "chai";
import { AbiCoder, concat, id, keccak256 } from "ethers";
import {
  buildMerkleTree,
  doubleHashLeaf,
  EmptyMerkleTreeError,
  hashPair,
  verifyMerkleProof,
} from "../../../oracle/src/store/merkle";

const leaves = (n: number) => Array.from({ length: n }, (_, i) => id(`leaf ${i}`));

describe("merkle", () => {
  it("hashes pairs commutatively, smaller word first", () => {
    const [a, b] = leaves(2);
    expect(hashPair(a, b)).to.equal(hashPair(b, a));
    const [low, high] = BigInt(a) < BigInt(b) ? [a, b] : [b, a];
    expect(hashPair(a, b)).to.equal(keccak256(concat([low, high])));
  });

  it("double-hashes the abi-encoded leaf values", () => {
    const encoded = AbiCoder.defaultAbiCoder().encode(["uint256", "bytes32"], [7n, id("x")]);
    expect(doubleHashLeaf(["uint256", "bytes32"], [7n, id("x")])).to.equal(keccak256(keccak256(encoded)));
  });

  it("uses the single leaf as root with an empty proof", () => {
    const tree = buildMerkleTree(leaves(1));
    expect(tree.root).to.equal(leaves(1)[0]);
    expect(tree.proof(0)).to.deep.equal([]);
    expect(verifyMerkleProof([], tree.root, leaves(1)[0])).to.equal(true);
  });

  for (const size of [2, 3, 5, 8, 13]) {
    it(`proves every leaf of a ${size}-leaf tree and rejects it against another root or leaf`, () => {
      const tree = buildMerkleTree(leaves(size));
      const other = buildMerkleTree(leaves(size + 1).slice(1));
      for (let i = 0; i < size; i++) {
        const proof = tree.proof(i);
        expect(verifyMerkleProof(proof, tree.root, leaves(size)[i]), `leaf ${i}`).to.equal(true);
        expect(verifyMerkleProof(proof, other.root, leaves(size)[i])).to.equal(false);
        expect(verifyMerkleProof(proof, tree.root, id("not a leaf"))).to.equal(false);
      }
    });
  }

  it("refuses an empty tree and an index out of range", () => {
    expect(() => buildMerkleTree([])).to.throw(EmptyMerkleTreeError);
    expect(() => buildMerkleTree(leaves(3)).proof(3)).to.throw(RangeError, "outside 0..2");
  });
});
