/**
 * Error classes shared by the inference engine and the oracle service.
 *
 * Why two classes: the job pipeline retries a `RetryableError` (RPC down, database busy, transient device
 * failure) with back-off, and records a `NonRetryableError` (bad input, model shape mismatch, missing file)
 * as a permanent failure at once. The underlying error is kept in `cause`.
 */
export class RetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RetryableError";
  }
}

export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NonRetryableError";
  }
}
