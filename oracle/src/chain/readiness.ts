/** One readiness condition of the chain side (same shape as the HTTP layer's `ReadinessCondition`). */
export interface ChainCondition {
  name: string;
  ok: boolean;
  message?: string;
}

export interface ChainReadinessInput {
  now: number;
  /** When the head poller last got an answer from the RPC (undefined: never). */
  lastHeadAt: number | undefined;
  /** The newest head number seen. */
  headNumber: number | undefined;
  /** The listener's processed block (undefined before its first range). */
  processedBlock: number | undefined;
  confirmations: number;
  maxHeadAgeMs: number;
  maxListenerLagBlocks: number;
}

/**
 * The chain's readiness conditions: `chain_head` (the RPC answered the head poll within `maxHeadAgeMs`; a hung RPC
 * keeps the last head forever, so the age of the last answer is what tells) and `listener_lag` (the listener is at
 * most `maxListenerLagBlocks` confirmed blocks behind that head).
 */
export function chainReadiness(input: ChainReadinessInput): ChainCondition[] {
  const conditions: ChainCondition[] = [];
  if (input.lastHeadAt === undefined) {
    conditions.push({ name: "chain_head", ok: false, message: "no answer from the RPC yet" });
  } else {
    const ageMs = input.now - input.lastHeadAt;
    conditions.push(
      ageMs <= input.maxHeadAgeMs
        ? { name: "chain_head", ok: true }
        : { name: "chain_head", ok: false, message: `no answer from the RPC for ${ageMs} ms (limit ${input.maxHeadAgeMs} ms)` },
    );
  }
  if (input.headNumber === undefined || input.processedBlock === undefined) {
    conditions.push({ name: "listener_lag", ok: false, message: "the listener has not processed a block yet" });
  } else {
    const lag = Math.max(0, input.headNumber - input.confirmations - input.processedBlock);
    conditions.push(
      lag <= input.maxListenerLagBlocks
        ? { name: "listener_lag", ok: true }
        : { name: "listener_lag", ok: false, message: `${lag} blocks behind the head (limit ${input.maxListenerLagBlocks})` },
    );
  }
  return conditions;
}
