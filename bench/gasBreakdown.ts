/**
 * Where one transaction's gas goes, from the node's opcode trace (`debug_traceTransaction`, Hardhat's network):
 * the 21k base, calldata, storage writes (new slots — zero to non-zero, 20,000 — apart from the rest), storage
 * reads, logs, the overhead of calls to other contracts, everything else, and the refund (the remainder: gasUsed
 * minus the intrinsic and the executed gas). A slot's cold access (2,100) is charged to whichever opcode touches
 * it first, usually an SLOAD before the write.
 */

/** One step of a struct-log trace (only the fields used here). */
interface TraceStep {
  op: string;
  gas: number;
  depth: number;
}

export interface GasBreakdown {
  gasUsed: number;
  base: number;
  calldata: number;
  /** SSTOREs that cost ≥ 20,000: a slot going from zero to non-zero (+ 2,100 when the write is its first touch) */
  newSlots: { count: number; gas: number };
  otherSstore: number;
  sload: number;
  logs: number;
  /** CALL / STATICCALL / DELEGATECALL themselves (cold account, value, memory), not the callee's own opcodes */
  calls: number;
  otherExecution: number;
  /** the remainder, gasUsed − intrinsic − executed: negative when storage was cleared or restored (EIP-3529) */
  refund: number;
}

const TX_BASE = 21_000;
const NEW_SLOT_MIN = 20_000;
const CALL_OPS = new Set(["CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"]);

interface Provider {
  send(method: string, params: unknown[]): Promise<unknown>;
}

/**
 * A step's total is the gas it took before the next step at its own depth (for a call: the call and everything
 * its callee ran). A call's own cost is its total minus the totals of its callee's top-level steps. A callee's last
 * step (RETURN, STOP) is followed by its caller's next step, so its own cost is not in the trace; it counts as
 * nothing (its gas shows up in its caller's call cost), as does the transaction's last step.
 */
export function breakdownFromTrace(steps: readonly TraceStep[], gasLimit: number, gasUsed: number): GasBreakdown {
  const intrinsic = steps.length ? gasLimit - steps[0].gas : gasUsed;
  const out: GasBreakdown = { ...zeroBreakdown(), gasUsed, base: TX_BASE, calldata: intrinsic - TX_BASE };
  // where each step's caller resumes: the next step at its depth or above (-1: none, the transaction ended)
  const resumeAt = steps.map((step, i) => (steps[i + 1]?.depth > step.depth ? steps.findIndex((s, j) => j > i && s.depth <= step.depth) : i + 1));
  const totals = steps.map((step, i) => {
    const next = steps[resumeAt[i]];
    return next && next.depth === step.depth ? step.gas - next.gas : 0;
  });
  let execution = 0;
  steps.forEach((step, i) => {
    let cost = totals[i];
    if (steps[i + 1]?.depth === step.depth + 1) {
      const end = resumeAt[i] < 0 ? steps.length : resumeAt[i];
      for (let j = i + 1; j < end; j++) if (steps[j].depth === step.depth + 1) cost -= totals[j];
    }
    execution += cost;
    if (step.op === "SSTORE" && cost >= NEW_SLOT_MIN) {
      out.newSlots.count++;
      out.newSlots.gas += cost;
    } else if (step.op === "SSTORE") out.otherSstore += cost;
    else if (step.op === "SLOAD") out.sload += cost;
    else if (step.op.startsWith("LOG")) out.logs += cost;
    else if (CALL_OPS.has(step.op)) out.calls += cost;
    else out.otherExecution += cost;
  });
  out.refund = gasUsed - intrinsic - execution;
  return out;
}

function zeroBreakdown(): GasBreakdown {
  return { gasUsed: 0, base: 0, calldata: 0, newSlots: { count: 0, gas: 0 }, otherSstore: 0, sload: 0, logs: 0, calls: 0, otherExecution: 0, refund: 0 };
}

/** Several transactions' breakdowns added up, part by part (e.g. one lifecycle). */
export function sumBreakdowns(parts: readonly GasBreakdown[]): GasBreakdown {
  return parts.reduce<GasBreakdown>(
    (acc, b) => ({
      gasUsed: acc.gasUsed + b.gasUsed,
      base: acc.base + b.base,
      calldata: acc.calldata + b.calldata,
      newSlots: { count: acc.newSlots.count + b.newSlots.count, gas: acc.newSlots.gas + b.newSlots.gas },
      otherSstore: acc.otherSstore + b.otherSstore,
      sload: acc.sload + b.sload,
      logs: acc.logs + b.logs,
      calls: acc.calls + b.calls,
      otherExecution: acc.otherExecution + b.otherExecution,
      refund: acc.refund + b.refund,
    }),
    zeroBreakdown(),
  );
}

/** Traces `txHash` on the node behind `provider` and breaks its gas down. */
export async function gasBreakdown(provider: Provider, txHash: string): Promise<GasBreakdown> {
  const tx = (await provider.send("eth_getTransactionByHash", [txHash])) as { gas: string };
  const receipt = (await provider.send("eth_getTransactionReceipt", [txHash])) as { gasUsed: string };
  const trace = (await provider.send("debug_traceTransaction", [txHash, { disableStorage: true, disableMemory: true, disableStack: true }])) as { structLogs: TraceStep[] };
  return breakdownFromTrace(trace.structLogs, Number(tx.gas), Number(receipt.gasUsed));
}
