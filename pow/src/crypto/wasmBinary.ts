/**
 * Just enough of the WebAssembly binary format to assemble one exported function with one memory. We emit the
 * bytes ourselves because the mining kernel is fully unrolled code generated from the SHA-256 round structure, and
 * no WebAssembly toolchain (wat2wasm, clang) is available on the build machines.
 */

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer (what `i32.const` takes). */
export function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

export const ValueType = { i32: 0x7f, v128: 0x7b } as const;

/** Opcodes used by the kernel; SIMD ones follow the 0xfd prefix. */
export const Op = {
  block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, brIf: 0x0d, voidType: 0x40,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, i32Store: 0x36, i32Const: 0x41,
  i32GeU: 0x4f, i32LeU: 0x4d, i32Add: 0x6a, i32Shl: 0x74,
} as const;

export const SimdOp = {
  v128Const: 0x0c, i8x16Shuffle: 0x0d, i32x4Splat: 0x11, i32x4ExtractLane: 0x1b,
  v128And: 0x4e, v128Or: 0x50, v128Xor: 0x51, v128Bitselect: 0x52,
  i32x4Shl: 0xab, i32x4ShrU: 0xad, i32x4Add: 0xae,
} as const;

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

function name(text: string): number[] {
  const bytes = [...Buffer.from(text, "utf8")];
  return [...uleb(bytes.length), ...bytes];
}

export interface FunctionSpec {
  exportName: string;
  params: number[];
  results: number[];
  /** Groups of extra locals, after the parameters. */
  locals: Array<{ count: number; type: number }>;
  /** Instruction bytes, without the final `end`. */
  code: number[];
}

/** A module with one function and one exported memory of `memoryPages` 64 KiB pages. */
export function assembleModule(fn: FunctionSpec, memoryPages: number): Uint8Array<ArrayBuffer> {
  const typeSection = section(1, [
    ...uleb(1),
    0x60, ...uleb(fn.params.length), ...fn.params, ...uleb(fn.results.length), ...fn.results,
  ]);
  const functionSection = section(3, [...uleb(1), ...uleb(0)]);
  const memorySection = section(5, [...uleb(1), 0x00, ...uleb(memoryPages)]);
  const exportSection = section(7, [
    ...uleb(2),
    ...name(fn.exportName), 0x00, ...uleb(0),
    ...name("memory"), 0x02, ...uleb(0),
  ]);
  const localDecls = [...uleb(fn.locals.length), ...fn.locals.flatMap((l) => [...uleb(l.count), l.type])];
  const body = [...localDecls, ...fn.code, Op.end];
  const codeSection = section(10, [...uleb(1), ...uleb(body.length), ...body]);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...typeSection, ...functionSection, ...memorySection, ...exportSection, ...codeSection,
  ]);
}
