import { AbiCoder, concat, keccak256 } from "ethers";
import { NonRetryableError } from "../errors";

/**
 * Merkle trees that OpenZeppelin's `MerkleProof.verify` accepts: pairs are hashed sorted (commutative keccak256, as
 * OZ `Hashes.commutativeKeccak256`), so a proof is just the list of sibling hashes from leaf to root. Leaves stay in
 * insertion order; a node without a sibling is carried up unchanged (its proof simply has no entry for that level).
 */

const abi = AbiCoder.defaultAbiCoder();

/** OZ `Hashes.commutativeKeccak256`: keccak256 of the two 32-byte words, smaller first. */
export function hashPair(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

/**
 * OZ's recommended leaf: `keccak256(bytes.concat(keccak256(abi.encode(values))))`. Hashing twice keeps a leaf from
 * ever equalling an inner node (64-byte preimage), so a proof cannot pass off an inner node as a record.
 */
export function doubleHashLeaf(types: readonly string[], values: readonly unknown[]): string {
  return keccak256(keccak256(abi.encode(types, values)));
}

export interface MerkleTree {
  readonly root: string;
  readonly leaves: readonly string[];
  /** Sibling hashes from the leaf at `index` up to the root. */
  proof(index: number): string[];
}

export class EmptyMerkleTreeError extends NonRetryableError {
  constructor() {
    super("a Merkle tree needs at least one leaf");
  }
}

/** Builds the tree level by level. One leaf: the root is the leaf and the proof is empty. */
export function buildMerkleTree(leaves: readonly string[]): MerkleTree {
  if (leaves.length === 0) throw new EmptyMerkleTreeError();
  const levels: string[][] = [leaves.map((leaf) => leaf.toLowerCase())];
  while (levels[levels.length - 1].length > 1) {
    const below = levels[levels.length - 1];
    const above: string[] = [];
    for (let i = 0; i < below.length; i += 2) above.push(i + 1 < below.length ? hashPair(below[i], below[i + 1]) : below[i]);
    levels.push(above);
  }
  return {
    root: levels[levels.length - 1][0],
    leaves: levels[0],
    proof(index) {
      if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
        throw new RangeError(`leaf index ${index} is outside 0..${leaves.length - 1}`);
      }
      const proof: string[] = [];
      let position = index;
      for (let level = 0; level < levels.length - 1; level++) {
        const sibling = position ^ 1;
        if (sibling < levels[level].length) proof.push(levels[level][sibling]);
        position >>= 1;
      }
      return proof;
    },
  };
}

/** OZ `MerkleProof.processProof` + comparison, in TypeScript, for clients and the verify CLI. */
export function verifyMerkleProof(proof: readonly string[], root: string, leaf: string): boolean {
  const computed = proof.reduce((hash, sibling) => hashPair(hash, sibling), leaf.toLowerCase());
  return computed === root.toLowerCase();
}
