import { type Interface, type ParamType, Result, getAddress } from "ethers";

/**
 * A lean ABI codec for the node's hot paths: the registry's events and views decoded, its calls encoded, on every
 * request and block. ethers' AbiCoder builds a tree of coder objects on every call and checksums every address with a
 * keccak; with tens of events and calls per request that was a fifth of the node's main thread. This one walks the
 * `ParamType`s ethers parsed from the ABI, checksums each distinct address once, and gives the same values ethers
 * does (bigints, checksummed addresses, lower-case hex; `Result`s for tuples and arrays where `results` is asked for).
 * Malformed data (an offset or length past the end, an address with non-zero upper bytes) throws, as in ethers.
 */

const checksums = new Map<string, string>();
const MAX_CHECKSUMS = 16_384;

/** `getAddress` of a lower-case 0x-prefixed 20-byte hex string, computed once per distinct address. */
export function checksumAddress(lowerHex: string): string {
  let known = checksums.get(lowerHex);
  if (known === undefined) {
    known = getAddress(lowerHex);
    if (checksums.size >= MAX_CHECKSUMS) checksums.delete(checksums.keys().next().value as string);
    checksums.set(lowerHex, known);
  }
  return known;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hexOf(bytes: Uint8Array, start: number, end: number): string {
  let out = "0x";
  for (let i = start; i < end; i++) out += HEX[bytes[i]];
  return out;
}

/** Bytes of a 0x hex string (ethers' `getBytes` without its checks' allocations); a TypeError for anything else. */
export function bytesOfHex(hex: string): Buffer {
  if (hex.length % 2 !== 0 || !hex.startsWith("0x")) throw new TypeError(`not an even-length 0x hex string (${hex.length} chars)`);
  const buf = Buffer.from(hex.slice(2), "hex");
  // Buffer stops at the first character that is not hex.
  if (buf.length * 2 !== hex.length - 2) throw new TypeError("not an even-length 0x hex string (a character that is not hex)");
  return buf;
}

const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

interface Reader {
  bytes: Uint8Array;
  results: boolean;
  /** `string` values as their raw bytes (a view into the data), for callers that decode them leniently. */
  rawStrings: boolean;
}

function word(reader: Reader, at: number): bigint {
  const { bytes } = reader;
  if (at + 32 > bytes.length) throw new Error(`ABI data too short: a word at ${at} of ${bytes.length} bytes`);
  let value = 0n;
  // 4 bytes at a time: a Number holds them exactly, and 8 BigInt steps per word instead of 32.
  for (let i = at; i < at + 32; i += 4) {
    const chunk = ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0;
    value = (value << 32n) | BigInt(chunk);
  }
  return value;
}

/** A word that is an offset or a length: small enough to index the data. */
function smallWord(reader: Reader, at: number): number {
  const value = word(reader, at);
  if (value > BigInt(reader.bytes.length)) throw new Error(`ABI offset or length ${value} past the end (${reader.bytes.length} bytes)`);
  return Number(value);
}

/** Where a type sits in its sequence's head: behind an offset (dynamic), or inline taking `headSize` bytes. */
interface Layout {
  dynamic: boolean;
  headSize: number;
}
/** Per ParamType, worked out once: the ABI's types are parsed once and decoded many times. */
const layouts = new WeakMap<ParamType, Layout>();

function layoutOf(type: ParamType): Layout {
  let layout = layouts.get(type);
  if (!layout) {
    const base = type.baseType;
    let dynamic = base === "string" || base === "bytes";
    let inline = 32;
    if (base === "array") {
      const child = layoutOf(type.arrayChildren as ParamType);
      dynamic = type.arrayLength === -1 || child.dynamic;
      inline = (type.arrayLength as number) * child.headSize;
    } else if (base === "tuple") {
      const components = (type.components as readonly ParamType[]).map(layoutOf);
      dynamic = components.some((c) => c.dynamic);
      inline = components.reduce((sum, c) => sum + c.headSize, 0);
    }
    layout = { dynamic, headSize: dynamic ? 32 : inline };
    layouts.set(type, layout);
  }
  return layout;
}

/** Decodes `count` values laid out from `base` (a tuple's or an array's body), the i-th of type `typeAt(i)`. */
function decodeSequence(reader: Reader, count: number, typeAt: (i: number) => ParamType, base: number): unknown[] {
  const values: unknown[] = new Array(count);
  let head = base;
  for (let i = 0; i < count; i++) {
    const type = typeAt(i);
    const { dynamic, headSize } = layoutOf(type);
    values[i] = decodeAt(reader, type, dynamic ? base + smallWord(reader, head) : head);
    head += headSize;
  }
  return values;
}

function decodeAt(reader: Reader, type: ParamType, at: number): unknown {
  const base = type.baseType;
  if (base === "address") {
    if (at + 32 > reader.bytes.length) throw new Error(`ABI data too short: an address at ${at} of ${reader.bytes.length} bytes`);
    for (let i = at; i < at + 12; i++) if (reader.bytes[i] !== 0) throw new Error(`ABI address at ${at} has non-zero upper bytes`);
    return checksumAddress(hexOf(reader.bytes, at + 12, at + 32));
  }
  if (base === "bool") return word(reader, at) !== 0n;
  if (base === "string" || base === "bytes") {
    const length = smallWord(reader, at);
    const start = at + 32;
    if (start + length > reader.bytes.length) throw new Error(`ABI ${base} of ${length} bytes past the end`);
    if (base === "bytes") return hexOf(reader.bytes, start, start + length);
    const raw = reader.bytes.subarray(start, start + length);
    return reader.rawStrings ? raw : utf8.decode(raw);
  }
  if (base.startsWith("uint") || base.startsWith("int")) {
    const signed = base.startsWith("int");
    const bits = BigInt(Number(base.slice(signed ? 3 : 4)) || 256);
    const value = word(reader, at) & ((1n << bits) - 1n);
    return signed && value >> (bits - 1n) === 1n ? value - (1n << bits) : value;
  }
  if (base.startsWith("bytes")) {
    if (at + 32 > reader.bytes.length) throw new Error(`ABI data too short: ${base} at ${at}`);
    return hexOf(reader.bytes, at, at + Number(base.slice(5)));
  }
  if (base === "array") {
    const child = type.arrayChildren as ParamType;
    let length = type.arrayLength as number;
    let body = at;
    if (length === -1) {
      length = smallWord(reader, at);
      body = at + 32;
    }
    const items = decodeSequence(reader, length, () => child, body);
    return reader.results ? Result.fromItems(items) : items;
  }
  if (base === "tuple") {
    const components = type.components as readonly ParamType[];
    const items = decodeSequence(reader, components.length, (i) => components[i], at);
    return reader.results ? Result.fromItems(items, components.map((c) => c.name || null)) : items;
  }
  throw new Error(`ABI type ${type.type} is not supported`);
}

/**
 * Decodes ABI data of `types` (a function's outputs, an event's non-indexed inputs). Tuples and arrays come out as
 * plain arrays, or as ethers `Result`s (named access, as ethers gives) with `results: true`; strings as text (invalid
 * UTF-8 shown as U+FFFD), or as their raw bytes with `rawStrings: true`.
 */
export function decodeAbi(
  types: readonly ParamType[],
  data: string | Uint8Array,
  options: { results?: boolean; rawStrings?: boolean } = {},
): unknown[] {
  const bytes = typeof data === "string" ? bytesOfHex(data) : data;
  const reader = { bytes, results: options.results ?? false, rawStrings: options.rawStrings ?? false };
  return decodeSequence(reader, types.length, (i) => types[i], 0);
}

/** One value of a static type from a 32-byte topic or word. */
export function decodeWord(type: ParamType, hex: string): unknown {
  return decodeAt({ bytes: bytesOfHex(hex), results: false, rawStrings: false }, type, 0);
}

const WORD_HEX = 64;

function wordHex(value: bigint): string {
  if (value < 0n || value >= 1n << 256n) throw new RangeError(`value ${value} does not fit an ABI word`);
  return value.toString(16).padStart(WORD_HEX, "0");
}

/** A value of one of the types `encodeCall` supports, as a 64-hex-char head word. */
function staticWord(type: string, value: unknown): string {
  if (type === "address") {
    const hex = String(value).toLowerCase();
    if (!/^0x[0-9a-f]{40}$/.test(hex)) throw new TypeError(`invalid address ${String(value)}`);
    return hex.slice(2).padStart(WORD_HEX, "0");
  }
  if (type === "bool") return wordHex(value ? 1n : 0n);
  const uint = /^uint(\d*)$/.exec(type);
  if (uint) {
    const bits = BigInt(Number(uint[1]) || 256);
    const n = BigInt(value as bigint | number);
    if (n < 0n || n >= 1n << bits) throw new RangeError(`value ${n} does not fit ${type}`);
    return wordHex(n);
  }
  if (/^bytes\d+$/.test(type)) {
    const hex = String(value).toLowerCase();
    const size = Number(type.slice(5));
    if (!new RegExp(`^0x[0-9a-f]{${size * 2}}$`).test(hex)) throw new TypeError(`invalid ${type} ${String(value)}`);
    return hex.slice(2).padEnd(WORD_HEX, "0");
  }
  throw new TypeError(`ABI type ${type} is not supported by encodeCall`);
}

function tailOf(type: string, value: unknown): string {
  const bytes = type === "string" ? Buffer.from(String(value), "utf8") : Buffer.from(bytesOfHex(String(value)));
  const padded = Math.ceil(bytes.length / 32) * 32;
  return wordHex(BigInt(bytes.length)) + bytes.toString("hex").padEnd(padded * 2, "0");
}

/**
 * `selector ++ abi.encode(values)` for parameter lists of elementary static types (uint, address, bool, bytesN) and
 * `string`/`bytes`: what `Interface.encodeFunctionData` gives for them, without building coders per call.
 */
export function encodeParams(types: readonly string[], values: readonly unknown[]): string {
  if (types.length !== values.length) throw new TypeError(`${types.length} types for ${values.length} values`);
  let head = "";
  let tail = "";
  const headBytes = types.length * 32;
  for (let i = 0; i < types.length; i++) {
    if (types[i] === "string" || types[i] === "bytes") {
      head += wordHex(BigInt(headBytes + tail.length / 2));
      tail += tailOf(types[i], values[i]);
    } else {
      head += staticWord(types[i], values[i]);
    }
  }
  return head + tail;
}

/** A function of `iface` encoded by `encodeParams`: the selector and input types are looked up once. */
export function callEncoder(iface: Interface, name: string): (...values: unknown[]) => string {
  const fragment = iface.getFunction(name);
  if (!fragment) throw new Error(`no function ${name} in the interface`);
  const types = fragment.inputs.map((p) => p.type);
  const selector = fragment.selector;
  return (...values) => selector + encodeParams(types, values);
}

/** Decodes a function's return data into its outputs (plain arrays for arrays and tuples). */
export function resultDecoder(iface: Interface, name: string): (data: string) => unknown[] {
  const fragment = iface.getFunction(name);
  if (!fragment) throw new Error(`no function ${name} in the interface`);
  const outputs = fragment.outputs;
  return (data) => decodeAbi(outputs, data);
}
