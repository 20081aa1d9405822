/*
 * The checks the page makes itself rather than take the node's word: texts against their on-chain hashes, a record's
 * fields against its Merkle leaf, and the leaf's proof against the batch root.
 */
import { hexToBytes, keccak256, keccak256Text } from "./keccak.js";

export function concatBytes(parts) {
  var total = parts.reduce(function (n, p) { return n + p.length; }, 0);
  var out = new Uint8Array(total);
  var offset = 0;
  parts.forEach(function (p) {
    out.set(p, offset);
    offset += p.length;
  });
  return out;
}

/** ChatRecordRegistry.recordLeaf: keccak256(bytes.concat(keccak256(abi.encode(prompt, response, model, validator)))). */
export function recordLeaf(promptHash, responseHash, modelHash, validator) {
  var address = hexToBytes(validator);
  var word = new Uint8Array(32);
  word.set(address, 32 - address.length);
  var encoded = concatBytes([hexToBytes(promptHash), hexToBytes(responseHash), hexToBytes(modelHash), word]);
  return keccak256(hexToBytes(keccak256(encoded)));
}

/** OpenZeppelin MerkleProof.processProof: hash sorted pairs from the leaf up; returns the root. */
export function merkleRoot(leaf, proof) {
  return proof.reduce(function (node, sibling) {
    var a = node.toLowerCase();
    var b = sibling.toLowerCase();
    var pair = a < b ? [a, b] : [b, a];
    return keccak256(concatBytes([hexToBytes(pair[0]), hexToBytes(pair[1])]));
  }, leaf.toLowerCase());
}

/** One check: a text and the hash it must have. Returns {ok, computed}. */
export function checkText(textView, expectedHash) {
  if (!textView || textView.text === null || textView.text === undefined) return { ok: null, computed: null };
  var computed = keccak256Text(textView.text);
  return { ok: !!expectedHash && computed === expectedHash.toLowerCase(), computed: computed };
}
