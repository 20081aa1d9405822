/**
 * Nonce scanners: given an 80-byte header template and a target, try a range of nonces and return those whose
 * double SHA-256 is at or below the target. Three implementations, fastest first:
 *  - WasmSimdScanner: midstate + the generated WebAssembly SIMD kernel (4 nonces per pass);
 *  - JsMidstateScanner: midstate + the Int32 JavaScript compression;
 *  - the seed's way lives in seedWay.ts (string concatenation and a hex digest per try), for comparison.
 */
import { buildScanKernel, KERNEL_LAYOUT, kernelInputs } from "../crypto/sha256dScanKernel";
import { compress, midstate, readBlockWords, SHA256_IV, sha256d } from "../crypto/sha256";
import { HEADER_BYTES, hashToBigInt, setNonce } from "../header/bitcoinHeader";

export interface ScanResult {
  /** Nonces tried. */
  scanned: number;
  /** Nonces whose hash meets the target, checked with OpenSSL's SHA-256. */
  hits: number[];
}

export interface NonceScanner {
  readonly name: string;
  setTemplate(header: Uint8Array, target: bigint): void;
  /** Tries nonces start, start+1, … (mod 2^32); `count` is rounded up to a multiple of 4. */
  scan(startNonce: number, count: number): ScanResult;
}

/** Full check of one nonce, independent of the scanner that proposed it. */
export function nonceMeetsTarget(header: Uint8Array, nonce: number, target: bigint): boolean {
  const copy = Uint8Array.from(header);
  setNonce(copy, nonce);
  return hashToBigInt(sha256d(copy)) <= target;
}

function checkTemplate(header: Uint8Array): void {
  if (header.length !== HEADER_BYTES) throw new RangeError(`header template must be ${HEADER_BYTES} bytes, got ${header.length}`);
}

let cachedKernel: WebAssembly.Module | undefined;
/** The compiled kernel, built once per thread. */
export function scanKernelModule(): WebAssembly.Module {
  cachedKernel ??= new WebAssembly.Module(buildScanKernel());
  return cachedKernel;
}

export class WasmSimdScanner implements NonceScanner {
  readonly name = "wasm-simd-midstate";
  private readonly scanFn: (start: number, count: number) => number;
  private readonly memory: Int32Array;
  private header = new Uint8Array(HEADER_BYTES);
  private target = 0n;

  constructor(module: WebAssembly.Module = scanKernelModule()) {
    const instance = new WebAssembly.Instance(module, {});
    this.scanFn = instance.exports.scan as (start: number, count: number) => number;
    this.memory = new Int32Array((instance.exports.memory as WebAssembly.Memory).buffer);
  }

  setTemplate(header: Uint8Array, target: bigint): void {
    checkTemplate(header);
    this.header = Uint8Array.from(header);
    this.target = target;
    this.memory.set(kernelInputs(header, target), 0);
  }

  scan(startNonce: number, count: number): ScanResult {
    const rounded = Math.ceil(count / 4) * 4;
    const hits: number[] = [];
    let done = 0;
    // The kernel stops early when its candidate buffer fills up (easy targets); keep going until the range is done.
    while (done < rounded) {
      const base = (startNonce + done) >>> 0;
      const found = this.scanFn(base | 0, rounded - done);
      for (let i = 0; i < found; i++) {
        const nonce = this.memory[KERNEL_LAYOUT.candidates / 4 + i] >>> 0;
        if (nonceMeetsTarget(this.header, nonce, this.target)) hits.push(nonce);
      }
      done += this.memory[KERNEL_LAYOUT.scanned / 4];
    }
    return { scanned: rounded, hits };
  }
}

export class JsMidstateScanner implements NonceScanner {
  readonly name = "js-int32-midstate";
  private header = new Uint8Array(HEADER_BYTES);
  private target = 0n;
  private mid: Int32Array = new Int32Array(8);
  private readonly block2 = new Int32Array(16);
  private readonly block3 = new Int32Array(16);

  setTemplate(header: Uint8Array, target: bigint): void {
    checkTemplate(header);
    this.header = Uint8Array.from(header);
    this.target = target;
    this.mid = midstate(header);
    this.block2.set(readBlockWords(Uint8Array.from([...header.subarray(64, 80), ...new Uint8Array(48)]), 0));
    this.block2[4] = 0x80000000 | 0;
    this.block2[15] = 640;
    this.block3[8] = 0x80000000 | 0;
    this.block3[15] = 256;
  }

  scan(startNonce: number, count: number): ScanResult {
    const rounded = Math.ceil(count / 4) * 4;
    const targetTop = Number(this.target >> 224n > 0xffffffffn ? 0xffffffffn : this.target >> 224n);
    const state = new Int32Array(8);
    const hits: number[] = [];
    for (let i = 0; i < rounded; i++) {
      const nonce = (startNonce + i) >>> 0;
      this.block2[3] = ((nonce & 0xff) << 24) | ((nonce & 0xff00) << 8) | ((nonce >>> 8) & 0xff00) | (nonce >>> 24);
      state.set(this.mid);
      compress(state, this.block2);
      this.block3.set(state.subarray(0, 8));
      state.set(SHA256_IV);
      compress(state, this.block3);
      const h7 = state[7];
      const top = (((h7 & 0xff) << 24) | ((h7 & 0xff00) << 8) | ((h7 >>> 8) & 0xff00) | (h7 >>> 24)) >>> 0;
      if (top <= targetTop && nonceMeetsTarget(this.header, nonce, this.target)) hits.push(nonce);
    }
    return { scanned: rounded, hits };
  }
}
