import { doubleHashLeaf } from "./merkle";

/** ABI types of an off-chain record leaf, in order (IChatRecordRegistry.recordLeaf). */
export const RECORD_LEAF_TYPES = ["bytes32", "bytes32", "bytes32", "address"] as const;

export interface RecordLeafFields {
  promptHash: string;
  responseHash: string;
  modelHash: string;
  /** The validator that answered and anchors the record. */
  validator: string;
}

/**
 * The leaf `ChatRecordRegistry.recordLeaf` computes:
 * keccak256(bytes.concat(keccak256(abi.encode(promptHash, responseHash, modelHash, validator)))).
 */
export function recordLeaf(fields: RecordLeafFields): string {
  return doubleHashLeaf(RECORD_LEAF_TYPES, [fields.promptHash, fields.responseHash, fields.modelHash, fields.validator]);
}
