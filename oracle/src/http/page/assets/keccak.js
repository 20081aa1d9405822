/*
 * keccak256 for the monitoring page: the hash the contracts store for prompts, responses and record leaves. The
 * permutation is @noble/hashes' (audited), served by the node from its node_modules under /assets/vendor/noble-hashes/
 * (see oracle/src/http/page/vendor.ts), so the page verifies texts offline. Hashes are "0x…" lower-case hex strings.
 */
import { keccak_256 } from "./vendor/noble-hashes/sha3.js";
import { bytesToHex as nobleBytesToHex, hexToBytes as nobleHexToBytes } from "./vendor/noble-hashes/utils.js";

export function bytesToHex(bytes) {
  return "0x" + nobleBytesToHex(bytes);
}

/** "0x…" or bare hex to bytes; anything else throws with the value in the message. */
export function hexToBytes(hex) {
  var clean = hex.replace(/^0x/i, "");
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error("not a hex string: " + hex);
  return nobleHexToBytes(clean);
}

export function keccak256(bytes) {
  return bytesToHex(keccak_256(bytes));
}

/** keccak256 of the UTF-8 bytes of `text`, as Solidity's keccak256(bytes(text)). */
export function keccak256Text(text) {
  return keccak256(new TextEncoder().encode(text));
}
