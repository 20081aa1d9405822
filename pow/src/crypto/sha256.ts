/**
 * SHA-256 pieces that Node's `crypto` does not expose: the compression function on its own, so a miner can hash the
 * first 64 bytes of a header once ("midstate") and only redo the last block per nonce. Whole-message hashing still
 * goes through `node:crypto` (OpenSSL), which is both faster and the reference our own code is tested against.
 */
import { createHash } from "node:crypto";

/** Round constants: first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
export const SHA256_K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** Initial hash value H(0). */
export const SHA256_IV = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/** Reused message schedule: compress() runs millions of times per second and must not allocate. */
const scheduleScratch = new Int32Array(64);

/**
 * One SHA-256 compression: `state` (8 words) absorbs `block` (16 big-endian words), in place.
 * Int32 arithmetic with `| 0` keeps V8 on its small-integer fast path.
 */
export function compress(state: Int32Array, block: Int32Array): void {
  const w = scheduleScratch;
  for (let t = 0; t < 16; t++) w[t] = block[t];
  for (let t = 16; t < 64; t++) {
    const x = w[t - 15];
    const y = w[t - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
  }
  let a = state[0], b = state[1], c = state[2], d = state[3];
  let e = state[4], f = state[5], g = state[6], h = state[7];
  for (let t = 0; t < 64; t++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + s1 + ch + SHA256_K[t] + w[t]) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (s0 + maj) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0;
    d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  state[0] = (state[0] + a) | 0; state[1] = (state[1] + b) | 0;
  state[2] = (state[2] + c) | 0; state[3] = (state[3] + d) | 0;
  state[4] = (state[4] + e) | 0; state[5] = (state[5] + f) | 0;
  state[6] = (state[6] + g) | 0; state[7] = (state[7] + h) | 0;
}

/** Reads 16 big-endian words from `bytes` at `offset`. */
export function readBlockWords(bytes: Uint8Array, offset: number): Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 64);
  const words = new Int32Array(16);
  for (let i = 0; i < 16; i++) words[i] = view.getInt32(i * 4, false);
  return words;
}

/** The SHA-256 state after absorbing the first 64 bytes of `message`: constant for every nonce of one header. */
export function midstate(message: Uint8Array): Int32Array {
  if (message.length < 64) throw new RangeError(`midstate needs at least 64 bytes, got ${message.length}`);
  const state = Int32Array.from(SHA256_IV);
  compress(state, readBlockWords(message, 0));
  return state;
}

/** SHA-256 of `data` (OpenSSL through node:crypto). */
export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

/** Bitcoin's hash: SHA-256 applied twice. */
export function sha256d(data: Uint8Array): Uint8Array {
  return sha256(sha256(data));
}

/** Big-endian bytes of eight state words: the digest. */
export function stateToDigest(state: Int32Array): Uint8Array {
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) view.setInt32(i * 4, state[i], false);
  return out;
}
