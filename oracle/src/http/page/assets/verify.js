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

/**
 * A streamed answer against its receipt (the last chunk's `chat_oracle`): the text the page put together from the
 * deltas must hash to the receipt's response hash, and the receipt's hashes to its record hash (the Merkle leaf).
 * Returns the reasons it does not match (none: it does).
 */
export function streamedAnswerProblems(text, receipt) {
  var problems = [];
  if (keccak256Text(text) !== receipt.response_hash.toLowerCase()) problems.push("The streamed answer does not hash to the receipt's response hash.");
  if (recordLeaf(receipt.prompt_hash, receipt.response_hash, receipt.model_hash, receipt.validator) !== receipt.record_hash.toLowerCase()) {
    problems.push("The receipt's hashes do not make its record hash (Merkle leaf).");
  }
  return problems;
}

/**
 * An anchored record (GET /v1/records/:hash) against the chain: its proof leads from the receipt's leaf to the batch
 * root, and the chain's verifyRecord accepted it. Returns true, false, or null (not anchored, or the chain not asked).
 */
export function anchoredOnChain(recordHash, rec) {
  var b = rec.batch;
  if (!b || b.status !== "anchored") return null;
  if (rec.recordHash.toLowerCase() !== recordHash.toLowerCase() || merkleRoot(recordHash, b.proof) !== b.merkleRoot.toLowerCase()) return false;
  return b.onChain ? b.onChain.verified : null;
}
