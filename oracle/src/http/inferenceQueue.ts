import { HttpError } from "./errors";

/** A bound on the POST /v1/chat calls waiting for or running inference at once. */
export interface InferenceAdmission {
  /** Admits one call (call the returned function when it is done), or throws 503 `busy` with Retry-After when full. */
  enter(): () => void;
  /** Calls admitted and not yet done. */
  readonly size: number;
}

/**
 * Admits at most `max` HTTP chat calls into the inference queue; the rest are answered 503 at once instead of
 * piling up behind each other (and behind the on-chain jobs, which the scheduler runs first).
 */
export function createInferenceAdmission(max: number, retryAfterSeconds = 5): InferenceAdmission {
  let inFlight = 0;
  return {
    enter() {
      if (inFlight >= max) {
        throw new HttpError(503, "busy", `${inFlight} chat calls are queued for inference (limit ${max}); retry in ${retryAfterSeconds} s`, {
          "Retry-After": String(retryAfterSeconds),
        });
      }
      inFlight++;
      let left = false;
      return () => {
        if (left) return;
        left = true;
        inFlight--;
      };
    },
    get size() {
      return inFlight;
    },
  };
}
