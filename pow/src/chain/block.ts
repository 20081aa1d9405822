/**
 * The seed's block, done right: index, timestamp, transactions, proof (the nonce) and previous hash, plus the
 * compact target it was mined against and its own hash. A block hashes as an 80-byte Bitcoin header
 * (version 1, previous hash, merkle root of its transactions, time, bits, nonce) with double SHA-256, so the same
 * scanners mine it and a changed transaction changes the hash.
 */
import { sha256d } from "../crypto/sha256";
import { bytesToDisplayHex, serializeHeader } from "../header/bitcoinHeader";

export interface Transaction {
  sender: string;
  recipient: string;
  amount: number;
}

export interface Block {
  index: number;
  /** Unix seconds (a header holds 32 bits of seconds). */
  timestamp: number;
  transactions: Transaction[];
  /** The nonce that makes the hash meet the target. */
  proof: number;
  /** Display-order hex of the previous block's hash; 64 zeros for genesis. */
  previousHash: string;
  /** Compact target (nBits). */
  bits: number;
  /** Display-order hex of this block's header hash. */
  hash: string;
}

export const BLOCK_VERSION = 1;
export const ZERO_HASH = "0".repeat(64);

/** Coinbase sender: new coins come from nowhere. */
export const COINBASE_SENDER = "0";

export class TransactionError extends Error {}

export function checkTransaction(tx: Transaction): void {
  if (typeof tx.sender !== "string" || tx.sender.length === 0) throw new TransactionError("transaction sender must be a non-empty string");
  if (typeof tx.recipient !== "string" || tx.recipient.length === 0) throw new TransactionError("transaction recipient must be a non-empty string");
  if (!Number.isFinite(tx.amount) || tx.amount <= 0) throw new TransactionError(`transaction amount must be a positive number, got ${tx.amount}`);
}

function transactionHash(tx: Transaction): Uint8Array {
  return sha256d(Buffer.from(JSON.stringify([tx.sender, tx.recipient, tx.amount]), "utf8"));
}

/**
 * Bitcoin's merkle root: pairwise double SHA-256 of transaction hashes, the last one paired with itself on odd levels.
 * The block index is hashed in first so two empty blocks at different heights differ.
 */
export function merkleRoot(index: number, transactions: Transaction[]): string {
  const indexLeaf = sha256d(Buffer.from(`index:${index}`, "utf8"));
  let level = [indexLeaf, ...transactions.map(transactionHash)];
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const right = level[i + 1] ?? level[i];
      next.push(sha256d(Buffer.concat([level[i], right])));
    }
    level = next;
  }
  return bytesToDisplayHex(level[0]);
}

type UnhashedBlock = Omit<Block, "hash">;

export function blockHeader(block: UnhashedBlock): Uint8Array {
  return serializeHeader({
    version: BLOCK_VERSION,
    previousHash: block.previousHash,
    merkleRoot: merkleRoot(block.index, block.transactions),
    time: block.timestamp,
    bits: block.bits,
    nonce: block.proof,
  });
}

export function computeBlockHash(block: UnhashedBlock): string {
  return bytesToDisplayHex(sha256d(blockHeader(block)));
}
