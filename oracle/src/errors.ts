/**
 * The node's error taxonomy. Every error the node raises on purpose is an `OracleError`, and its class says how it
 * is retried — callers decide by class, never by message:
 *
 * - `RetryableError`: the same call may succeed later (RPC down, database busy, a transient device failure). Call
 *   loops (`withBackoff`) repeat it in place; the job pipeline retries the step with back-off.
 * - `ChainRaceError`: the chain moved on under a step (a phase ended, another transaction landed first). Repeating
 *   the same call fails the same way, so call loops do not; the job pipeline re-reads the chain and decides again,
 *   at most `ChainRaceError.maxRetries` times.
 * - `NonRetryableError`: bad input, model shape mismatch, missing file: never retried.
 *
 * The underlying error is kept in `cause`, so a logged `{ err }` carries the whole chain.
 */
export class OracleError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class RetryableError extends OracleError {}

export class NonRetryableError extends OracleError {}

export class ChainRaceError extends OracleError {
  /** Times a job step that lost a race with the chain is decided again before the job fails. */
  static readonly maxRetries = 5;
}

/** What the job pipeline does with a failed step. */
export type StepRetry = "retry" | "decide_again" | "fail";

/**
 * The job pipeline's retry decision, by class: `raceRetries` is how often the step already lost a race with the
 * chain (retryable errors are retried until the request's own deadlines end the job).
 */
export function stepRetryOf(error: unknown, raceRetries: number): StepRetry {
  if (error instanceof ChainRaceError) return raceRetries < ChainRaceError.maxRetries ? "decide_again" : "fail";
  if (error instanceof RetryableError) return "retry";
  return "fail";
}
