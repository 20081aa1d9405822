/**
 * The seed's proof of work, transcribed: `sha256(f'{last_proof}{proof}')` as a hex string per try, accepted when it
 * starts with k/4 zero hex digits. Kept only as the baseline the benchmark compares the fast scanners with.
 */
import { createHash } from "node:crypto";

/** Tries proofs start … start+count-1; returns how many it tried and the first accepted proof, if any. */
export function seedWayScan(lastProof: number, start: number, count: number, zeroHexDigits: number): { scanned: number; proof?: number } {
  const prefix = "0".repeat(zeroHexDigits);
  for (let proof = start; proof < start + count; proof++) {
    const digest = createHash("sha256").update(`${lastProof}${proof}`).digest("hex");
    if (digest.startsWith(prefix)) return { scanned: proof - start + 1, proof };
  }
  return { scanned: count };
}
