/**
 * GPT-2's byte-level alphabet: every byte 0..255 maps to one printable Unicode character, so byte-level BPE
 * tokens are plain strings in tokenizer.json. Shared by the tokenizer builder and the streaming decoder.
 */
function buildByteToChar(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const byteToChar: string[] = new Array(256);
  for (const b of printable) byteToChar[b] = String.fromCodePoint(b);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    if (byteToChar[b] === undefined) byteToChar[b] = String.fromCodePoint(256 + shifted++);
  }
  return byteToChar;
}

/** byte value → byte-level character */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** byte-level character → byte value */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((ch, b) => [ch, b]));

/** Byte order used for the base vocabulary: printable bytes first, like GPT-2's vocab.json. */
export const BASE_BYTE_ORDER: readonly number[] = [...BYTE_TO_CHAR.keys()].sort(
  (x, y) => BYTE_TO_CHAR[x].codePointAt(0)! - BYTE_TO_CHAR[y].codePointAt(0)!,
);

export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += BYTE_TO_CHAR[b];
  return s;
}

/** Returns the bytes of a byte-level token string, or undefined if it holds a character outside the alphabet. */
export function byteLevelToBytes(token: string): number[] | undefined {
  const out: number[] = [];
  for (const ch of token) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b === undefined) return undefined;
    out.push(b);
  }
  return out;
}
