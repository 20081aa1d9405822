/**
 * A WebAssembly SIMD kernel that tries four nonces at once for an 80-byte Bitcoin-style header:
 * SHA-256 of the header's second 64-byte block starting from the midstate, then SHA-256 of that digest.
 *
 * The 2 × 64 rounds are fully unrolled at generation time, which lets the generator
 *  - rename the working variables instead of moving them (each round writes only the new `a` and `e`),
 *  - fold the padding words (known zeros and lengths) into the round constants and the message schedule,
 *  - compute `Ch` and `Maj` with one and two `v128.bitselect`s,
 *  - skip what does not depend on the nonce: rounds 0-2 of the first compression and schedule words W16, W17 are
 *    computed once per template in JavaScript (`kernelInputs`),
 *  - stop the second compression after round 60: the filter only needs H7, and h after round 63 is e after round 60.
 *
 * Memory layout (one 64 KiB page), all little-endian i32:
 *   [0, 32)    midstate, 8 words           [32, 44)  header words 16..18 (merkle tail, time, bits), big-endian values
 *   [44, 48)   top 32 bits of the target   [48, 52)  nonces scanned by the last call
 *   [64, 96)   a..h after rounds 0-2       [96, 104) schedule words W16, W17 of the nonce block
 *   [128, ...) candidate nonces (at most MAX_CANDIDATES per call)
 */
import { assembleModule, Op, SimdOp, sleb, uleb, ValueType } from "./wasmBinary";
import { midstate, readBlockWords, SHA256_IV, SHA256_K } from "./sha256";

export const KERNEL_LAYOUT = {
  midstate: 0,
  tail: 32,
  targetTop: 44,
  scanned: 48,
  preRounds: 64,
  schedule: 96,
  inputWords: 26,
  candidates: 128,
  maxCandidates: 1024,
} as const;

/** A message word: known at generation time, or held in a v128 local (four lanes). */

type Word = { constant: number } | { local: number };

class KernelWriter {
  readonly code: number[] = [];
  private nextLocal: number;

  constructor(firstVectorLocal: number) {
    this.nextLocal = firstVectorLocal;
  }

  get vectorLocalsUsed(): number {
    return this.nextLocal;
  }

  allocate(count: number): number[] {
    const locals = Array.from({ length: count }, (_, i) => this.nextLocal + i);
    this.nextLocal += count;
    return locals;
  }

  emit(...bytes: number[]): void {
    for (const b of bytes) this.code.push(b);
  }
  get(local: number): void {
    this.emit(Op.localGet, ...uleb(local));
  }
  set(local: number): void {
    this.emit(Op.localSet, ...uleb(local));
  }
  simd(op: number): void {
    this.emit(0xfd, ...uleb(op));
  }
  i32(value: number): void {
    this.emit(Op.i32Const, ...sleb(value));
  }
  splatConst(value: number): void {
    this.simd(SimdOp.v128Const);
    for (let lane = 0; lane < 4; lane++) this.emit(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff);
  }
  add(): void {
    this.simd(SimdOp.i32x4Add);
  }
  xor(): void {
    this.simd(SimdOp.v128Xor);
  }
  /** Pushes rotr(x, n) of local `x`. */
  rotr(x: number, n: number): void {
    this.get(x); this.i32(n); this.simd(SimdOp.i32x4ShrU);
    this.get(x); this.i32(32 - n); this.simd(SimdOp.i32x4Shl);
    this.simd(SimdOp.v128Or);
  }
  shr(x: number, n: number): void {
    this.get(x); this.i32(n); this.simd(SimdOp.i32x4ShrU);
  }
  pushWord(word: Word): void {
    if ("constant" in word) this.splatConst(word.constant);
    else this.get(word.local);
  }
}

const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));
const smallSigma0 = (x: number) => rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
const smallSigma1 = (x: number) => rotr(x, 17) ^ rotr(x, 19) ^ (x >>> 10);

interface CompressionPlan {
  /** First round to emit: `state` holds a..h before it. */
  firstRound: number;
  /** One past the last round to emit. */
  endRound: number;
  /** Schedule words computed outside the kernel, by round. */
  presetWords: Map<number, number>;
}

/**
 * Emits rounds [firstRound, endRound) of one compression. `state` holds 8 locals with the incoming working variables
 * (overwritten); returns the locals that hold a..h afterwards (the feed-forward addition is left to the caller).
 */
function emitCompression(w: KernelWriter, state: number[], message: Word[], window: number[], temp: number, plan: CompressionPlan): number[] {
  const words: Word[] = message.slice();
  let slots = state.slice(); // slots[0] = a ... slots[7] = h
  for (let t = plan.firstRound; t < plan.endRound; t++) {
    const preset = plan.presetWords.get(t);
    if (preset !== undefined) words[t % 16] = { local: preset };
    else if (t >= 16) words[t % 16] = emitScheduleWord(w, words, t, window[t % 16], temp);
    const word = words[t % 16];
    const [a, b, c, d, e, f, g, h] = slots;
    // T1 = h + Σ1(e) + Ch(e, f, g) + K[t] + W[t]
    w.get(h);
    w.rotr(e, 6); w.rotr(e, 11); w.xor(); w.rotr(e, 25); w.xor(); w.add();
    w.get(f); w.get(g); w.get(e); w.simd(SimdOp.v128Bitselect); w.add();
    if ("constant" in word) {
      w.splatConst((SHA256_K[t] + word.constant) | 0); w.add();
    } else {
      w.splatConst(SHA256_K[t]); w.add(); w.get(word.local); w.add();
    }
    w.set(temp);
    // new e = d + T1, written over d
    w.get(d); w.get(temp); w.add(); w.set(d);
    // new a = T1 + Σ0(a) + Maj(a, b, c), written over h
    w.get(temp);
    w.rotr(a, 2); w.rotr(a, 13); w.xor(); w.rotr(a, 22); w.xor(); w.add();
    w.get(b); w.get(a); w.get(a); w.get(c); w.xor(); w.simd(SimdOp.v128Bitselect); w.add();
    w.set(h);
    slots = [h, a, b, c, d, e, f, g];
  }
  return slots;
}

/** W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], with generation-time constants folded. */
function emitScheduleWord(w: KernelWriter, words: Word[], t: number, target: number, temp: number): Word {
  const terms: Array<{ word: Word; fn: "s0" | "s1" | "id" }> = [
    { word: words[(t - 2) % 16], fn: "s1" },
    { word: words[(t - 7) % 16], fn: "id" },
    { word: words[(t - 15) % 16], fn: "s0" },
    { word: words[(t - 16) % 16], fn: "id" },
  ];
  let constantPart = 0;
  let pushed = 0;
  for (const { word, fn } of terms) {
    if ("constant" in word) {
      const v = fn === "s0" ? smallSigma0(word.constant) : fn === "s1" ? smallSigma1(word.constant) : word.constant;
      constantPart = (constantPart + v) | 0;
      continue;
    }
    const x = word.local;
    if (fn === "s0") { w.rotr(x, 7); w.rotr(x, 18); w.xor(); w.shr(x, 3); w.xor(); }
    else if (fn === "s1") { w.rotr(x, 17); w.rotr(x, 19); w.xor(); w.shr(x, 10); w.xor(); }
    else w.get(x);
    if (pushed++ > 0) w.add();
  }
  if (pushed === 0) return { constant: constantPart };
  if (constantPart !== 0) { w.splatConst(constantPart); w.add(); }
  void temp;
  w.set(target);
  return { local: target };
}

/** Builds the kernel module: export `scan(startNonce: i32, count: i32) -> candidates found`. */
export function buildScanKernel(): Uint8Array<ArrayBuffer> {
  const PARAM_START = 0, PARAM_COUNT = 1;
  const I = 2, FOUND = 3, TARGET_TOP = 4;
  const w = new KernelWriter(5);
  const mid = w.allocate(8);
  const state = w.allocate(8);
  const window = w.allocate(16);
  const hash1 = w.allocate(8);
  const pre = w.allocate(8);
  const [w16, w17] = w.allocate(2);
  const [temp, nonces, topWord] = w.allocate(3);
  const L = KERNEL_LAYOUT;

  // Loop-invariant loads: midstate, state after rounds 0-2, W16, W17 as splats, and the target's top word.
  const splatLoad = (offset: number, local: number) => {
    w.i32(0); w.emit(Op.i32Load, 2, ...uleb(offset)); w.simd(SimdOp.i32x4Splat); w.set(local);
  };
  for (let i = 0; i < 8; i++) splatLoad(L.midstate + 4 * i, mid[i]);
  for (let i = 0; i < 8; i++) splatLoad(L.preRounds + 4 * i, pre[i]);
  splatLoad(L.schedule, w16);
  splatLoad(L.schedule + 4, w17);
  w.i32(0); w.emit(Op.i32Load, 2, ...uleb(L.targetTop)); w.set(TARGET_TOP);

  w.emit(Op.block, Op.voidType, Op.loop, Op.voidType);
  w.get(I); w.get(PARAM_COUNT); w.emit(Op.i32GeU, Op.brIf, 1);
  w.get(FOUND); w.i32(L.maxCandidates); w.emit(Op.i32GeU, Op.brIf, 1);

  // Lanes hold nonces start+i .. start+i+3; the header stores them little-endian, SHA-256 reads big-endian.
  w.get(PARAM_START); w.get(I); w.emit(Op.i32Add); w.simd(SimdOp.i32x4Splat);
  w.simd(SimdOp.v128Const); for (const lane of [0, 1, 2, 3]) w.emit(lane, 0, 0, 0);
  w.add(); w.set(nonces);
  w.get(nonces); w.get(nonces); w.simd(SimdOp.i8x16Shuffle);
  w.emit(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
  w.set(window[3]);
  for (let i = 0; i < 3; i++) {
    w.i32(0); w.emit(Op.i32Load, 2, ...uleb(L.tail + 4 * i)); w.simd(SimdOp.i32x4Splat); w.set(window[i]);
  }
  for (let i = 0; i < 8; i++) { w.get(pre[i]); w.set(state[i]); }
  const block2: Word[] = [
    { local: window[0] }, { local: window[1] }, { local: window[2] }, { local: window[3] },
    { constant: 0x80000000 | 0 }, ...Array.from({ length: 10 }, () => ({ constant: 0 })), { constant: 640 },
  ];
  const out1 = emitCompression(w, state, block2, window, temp, { firstRound: 3, endRound: 64, presetWords: new Map([[16, w16], [17, w17]]) });
  for (let i = 0; i < 8; i++) { w.get(mid[i]); w.get(out1[i]); w.add(); w.set(hash1[i]); }

  // Second SHA-256: the 32-byte digest padded to one block, starting from the IV.
  for (let i = 0; i < 8; i++) { w.splatConst(SHA256_IV[i]); w.set(state[i]); }
  const block3: Word[] = [
    ...hash1.map((local) => ({ local })),
    { constant: 0x80000000 | 0 }, ...Array.from({ length: 6 }, () => ({ constant: 0 })), { constant: 256 },
  ];
  const after60 = emitCompression(w, state, block3, window, temp, { firstRound: 0, endRound: 61, presetWords: new Map() });
  // Only H7 matters for the first filter: its bytes are the most significant bytes of the hash as a number.
  // Rounds 61-63 only shift e of round 60 into h, so H7 = IV7 + e after round 60.
  w.splatConst(SHA256_IV[7]); w.get(after60[4]); w.add(); w.set(topWord);
  w.get(topWord); w.get(topWord); w.simd(SimdOp.i8x16Shuffle);
  w.emit(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
  w.set(topWord);
  for (let lane = 0; lane < 4; lane++) {
    w.get(topWord); w.simd(SimdOp.i32x4ExtractLane); w.emit(lane);
    w.get(TARGET_TOP); w.emit(Op.i32LeU, Op.if, Op.voidType);
    w.i32(L.candidates); w.get(FOUND); w.i32(2); w.emit(Op.i32Shl, Op.i32Add);
    w.get(PARAM_START); w.get(I); w.emit(Op.i32Add); w.i32(lane); w.emit(Op.i32Add);
    w.emit(Op.i32Store, 2, 0);
    w.get(FOUND); w.i32(1); w.emit(Op.i32Add); w.set(FOUND);
    w.emit(Op.end);
  }
  w.get(I); w.i32(4); w.emit(Op.i32Add); w.set(I);
  w.emit(Op.br, 0, Op.end, Op.end);
  w.i32(L.scanned); w.get(I); w.emit(Op.i32Store, 2, 0);
  w.get(FOUND);

  return assembleModule(
    {
      exportName: "scan",
      params: [ValueType.i32, ValueType.i32],
      results: [ValueType.i32],
      locals: [
        { count: 3, type: ValueType.i32 },
        { count: w.vectorLocalsUsed - 5, type: ValueType.v128 },
      ],
      code: w.code,
    },
    1,
  );
}

/**
 * The kernel's per-template inputs, words [0, KERNEL_LAYOUT.inputWords) of its memory: midstate, header tail, target
 * top word, and the nonce-independent work (rounds 0-2 of the nonce block, W16, W17).
 */
export function kernelInputs(header: Uint8Array, target: bigint): Int32Array {
  const L = KERNEL_LAYOUT;
  const inputs = new Int32Array(L.inputWords);
  const mid = midstate(header);
  const tail = readBlockWords(Uint8Array.from([...header.subarray(64, 80), ...new Uint8Array(48)]), 0).subarray(0, 3);
  const top = target >> 224n;
  inputs.set(mid, L.midstate / 4);
  inputs.set(tail, L.tail / 4);
  inputs[L.targetTop / 4] = Number(top > 0xffffffffn ? 0xffffffffn : top) | 0;
  // Rounds 0-2 read only W0..W2 (the tail), the same for every nonce.
  let [a, b, c, d, e, f, g, h] = mid;
  for (let t = 0; t < 3; t++) {
    const s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + s1 + ch + SHA256_K[t] + tail[t]) | 0;
    const s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    h = g; g = f; f = e; e = (d + t1) | 0;
    d = c; c = b; b = a; a = (t1 + s0 + maj) | 0;
  }
  inputs.set([a, b, c, d, e, f, g, h], L.preRounds / 4);
  // W16 = σ1(W14) + W9 + σ0(W1) + W0 and W17 = σ1(W15) + W10 + σ0(W2) + W1, with W9 = W10 = W14 = 0 and W15 = 640.
  inputs[L.schedule / 4] = (smallSigma0(tail[1]) + tail[0]) | 0;
  inputs[L.schedule / 4 + 1] = (smallSigma1(640) + smallSigma0(tail[2]) + tail[1]) | 0;
  return inputs;
}
