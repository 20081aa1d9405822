/**
 * The life of one job — one validator serving one committee seat of one chat request:
 *
 *   seen → inferred → committed → revealed → finalized
 *     \________\___________\__________\_____→ timed_out   (the request's deadline passed; it was reassigned or refunded)
 *     \________\___________\__________\_____→ failed      (a non-retryable error; logged and counted)
 *     \________\_______________________________→ declined    (the seat declined the request: `declineRequest`
 *                                                              mined, or a quorum declined it before this seat acted)
 *
 * A committee of one skips commit–reveal: `respond` is the job's commit transaction (journaled as `commit_tx`) and
 * the chain shows the seat committed and revealed at once. A decline is journaled as `commit_tx` too.
 *
 * `inferred` holds the response and the salt, written before the commit transaction is signed; `commit_tx` and
 * `reveal_tx` are written before each transaction is broadcast, so a restart knows what may already be on-chain.
 */
import { NonRetryableError } from "../errors";

export const JOB_STATES = ["seen", "inferred", "committed", "revealed", "finalized", "timed_out", "failed", "declined"] as const;
export type JobState = (typeof JOB_STATES)[number];

export const TERMINAL_STATES: readonly JobState[] = ["finalized", "timed_out", "failed", "declined"];
export const ACTIVE_STATES: readonly JobState[] = ["seen", "inferred", "committed", "revealed"];

const NEXT: Record<JobState, readonly JobState[]> = {
  seen: ["inferred", "committed", "revealed", "finalized", "timed_out", "failed", "declined"],
  inferred: ["committed", "revealed", "finalized", "timed_out", "failed", "declined"],
  committed: ["revealed", "finalized", "timed_out", "failed", "declined"],
  revealed: ["finalized", "timed_out", "failed", "declined"],
  finalized: [],
  timed_out: [],
  failed: [],
  declined: [],
};

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.includes(state);
}

/** Forward moves only (a restart may skip states it finds already done on-chain); a reorg rollback is not a move. */
export function canMove(from: JobState, to: JobState): boolean {
  return NEXT[from].includes(to);
}

export class InvalidJobTransitionError extends NonRetryableError {
  constructor(
    readonly requestId: bigint,
    readonly from: JobState,
    readonly to: JobState,
  ) {
    super(`job ${requestId}: cannot move from ${from} to ${to}`);
  }
}
