/**
 * Bitcoin's 80-byte block header: version, previous block hash, merkle root, time, nBits, nonce, all little-endian.
 * Hashes in text are in "display order" (byte-reversed), the way block explorers and `bitcoin-cli` print them.
 */
import { sha256d } from "../crypto/sha256";
import { compactToTarget, hex32, targetToHex } from "../chain/target";

export const HEADER_BYTES = 80;
export const NONCE_OFFSET = 76;

export interface BlockHeader {
  version: number;
  /** Display-order hex of the previous block's hash. */
  previousHash: string;
  /** Display-order hex of the merkle root. */
  merkleRoot: string;
  /** Unix seconds. */
  time: number;
  /** Compact target. */
  bits: number;
  nonce: number;
}

export class HeaderFormatError extends Error {}

function displayHexToBytes(hex: string, what: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new HeaderFormatError(`${what} must be 64 hex characters, got "${hex}"`);
  return Uint8Array.from(Buffer.from(hex, "hex").reverse());
}

export function bytesToDisplayHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).reverse().toString("hex");
}

export function serializeHeader(header: BlockHeader): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, header.version >>> 0, true);
  out.set(displayHexToBytes(header.previousHash, "previous hash"), 4);
  out.set(displayHexToBytes(header.merkleRoot, "merkle root"), 36);
  view.setUint32(68, header.time >>> 0, true);
  view.setUint32(72, header.bits >>> 0, true);
  view.setUint32(NONCE_OFFSET, header.nonce >>> 0, true);
  return out;
}

export function parseHeader(bytes: Uint8Array): BlockHeader {
  if (bytes.length !== HEADER_BYTES) throw new HeaderFormatError(`a header is ${HEADER_BYTES} bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  return {
    version: view.getUint32(0, true),
    previousHash: bytesToDisplayHex(bytes.subarray(4, 36)),
    merkleRoot: bytesToDisplayHex(bytes.subarray(36, 68)),
    time: view.getUint32(68, true),
    bits: view.getUint32(72, true),
    nonce: view.getUint32(NONCE_OFFSET, true),
  };
}

export function headerFromHex(hex: string): Uint8Array {
  const clean = hex.trim().replace(/^0x/, "");
  if (!/^[0-9a-fA-F]*$/.test(clean) || clean.length % 2 !== 0) throw new HeaderFormatError("header must be hex");
  if (clean.length !== HEADER_BYTES * 2) {
    throw new HeaderFormatError(`a header is ${HEADER_BYTES} bytes (${HEADER_BYTES * 2} hex characters), got ${clean.length / 2} bytes`);
  }
  return Uint8Array.from(Buffer.from(clean, "hex"));
}

/** The hash digest read as Bitcoin compares it: a little-endian 256-bit number. */
export function hashToBigInt(digest: Uint8Array): bigint {
  return BigInt("0x" + (bytesToDisplayHex(digest) || "0"));
}

export function setNonce(header: Uint8Array, nonce: number): void {
  new DataView(header.buffer, header.byteOffset, HEADER_BYTES).setUint32(NONCE_OFFSET, nonce >>> 0, true);
}

export interface HeaderVerdict {
  header: BlockHeader;
  /** Display-order hex. */
  hash: string;
  /** 64 hex characters. */
  target: string;
  bits: string;
  valid: boolean;
  reason?: string;
}

/** Checks a header's proof of work: double SHA-256 at or below the target its nBits encode. */
export function verifyHeader(bytes: Uint8Array): HeaderVerdict {
  const header = parseHeader(bytes);
  const digest = sha256d(bytes);
  const hash = bytesToDisplayHex(digest);
  let target: bigint;
  try {
    target = compactToTarget(header.bits);
  } catch (error) {
    return { header, hash, target: "", bits: hex32(header.bits), valid: false, reason: (error as Error).message };
  }
  if (target === 0n) return { header, hash, target: targetToHex(target), bits: hex32(header.bits), valid: false, reason: "nBits encodes a zero target" };
  const valid = hashToBigInt(digest) <= target;
  return {
    header, hash, target: targetToHex(target), bits: hex32(header.bits), valid,
    ...(valid ? {} : { reason: "hash is above the target" }),
  };
}
