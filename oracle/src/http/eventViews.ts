import type { IndexedEvent } from "./chainIndex";
import { DECLINE_REASONS, SLASH_REASONS, type ChainRef, type RequestStatusName, type TimelineEntry } from "./viewTypes";

/**
 * Pure derivations from indexed registry events: a request's timeline, status and latency, and each validator's
 * selection count and liveness. `timeOf` gives a block's timestamp when known (the caller fetched it).
 */
export type BlockTime = (block: number) => number | undefined;

export const eventOrder = (a: IndexedEvent, b: IndexedEvent) => a.block - b.block || a.logIndex - b.logIndex;

export function chainRef(e: IndexedEvent, timeOf: BlockTime): ChainRef {
  return { block: e.block, txHash: e.txHash, timestamp: timeOf(e.block) ?? null };
}

const slashReason = (reason: unknown) => SLASH_REASONS[Number(reason)] ?? String(reason);
const declineReason = (reason: unknown) => DECLINE_REASONS[Number(reason)] ?? String(reason);

/** One entry per request event, in chain order; events the API does not show are skipped. */
export function timelineOf(events: readonly IndexedEvent[], timeOf: BlockTime): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const e of events) {
    const a = e.args;
    const at = chainRef(e, timeOf);
    switch (e.name) {
      case "ChatRequested":
        entries.push({ type: "requested", ...at, attempt: 1 });
        break;
      case "CommitteeDrawn":
        entries.push({ type: "drawn", ...at, attempt: Number(a.attempt), committee: [...(a.committee as string[])] });
        break;
      case "CommitteeReassigned":
        entries.push({ type: "reassigned", ...at, attempt: Number(a.attempt) });
        break;
      case "ResponseCommitted":
        entries.push({ type: "committed", ...at, validator: a.validator as string });
        break;
      case "ResponseDeclined":
        entries.push({ type: "declined", ...at, validator: a.validator as string, reason: declineReason(a.reason) });
        break;
      case "RequestDeclined":
        entries.push({ type: "request_declined", ...at });
        break;
      case "ResponseRevealed":
        entries.push({ type: "revealed", ...at, validator: a.validator as string, responseHash: a.responseHash as string });
        break;
      case "RecordFinalized":
        entries.push({ type: "finalized", ...at, responseHash: a.responseHash as string });
        break;
      case "MemberSlashed":
        entries.push({ type: "slashed", ...at, validator: a.validator as string, reason: slashReason(a.reason), amount: (a.amount as bigint).toString() });
        break;
      case "RequestTimedOut":
        entries.push({ type: "timed_out", ...at, attempt: Number(a.attempt), exhausted: a.exhausted as boolean });
        break;
      case "RequestSettled":
        entries.push({ type: "settled", ...at, amount: (a.refund as bigint).toString() });
        break;
      case "ConsumerCallbackFailed":
        entries.push({ type: "callback_failed", ...at });
        break;
    }
  }
  return entries;
}

/** The latest ChatRequested / CommitteeReassigned: the start of the current attempt. */
export function currentAssignment(events: readonly IndexedEvent[]): IndexedEvent | undefined {
  return events.filter((e) => e.name === "ChatRequested" || e.name === "CommitteeReassigned").at(-1);
}

/** The current attempt's number (1 + reassignments). */
export function currentAttempt(events: readonly IndexedEvent[]): number {
  const current = currentAssignment(events);
  return current?.name === "CommitteeReassigned" ? Number(current.args.attempt) : 1;
}

/** The current attempt's committee from its CommitteeDrawn event; empty until someone drew it. */
export function currentCommittee(events: readonly IndexedEvent[]): string[] {
  const attempt = currentAttempt(events);
  const drawn = events.filter((e) => e.name === "CommitteeDrawn" && Number(e.args.attempt) === attempt).at(-1);
  return drawn ? [...(drawn.args.committee as string[])] : [];
}

/** Status from events alone, matching the contract's Status (for lists, without a getRecord call per request). */
export function statusFromEvents(events: readonly IndexedEvent[]): RequestStatusName {
  if (events.some((e) => e.name === "RequestDeclined")) return "declined";
  if (events.some((e) => e.name === "RecordFinalized")) return "finalized";
  if (events.some((e) => e.name === "RequestTimedOut" && e.args.exhausted === true)) return "timed_out";
  const current = currentAssignment(events);
  if (!current) return "none";
  const after = events.filter((e) => eventOrder(e, current) > 0);
  if (after.some((e) => e.name === "ResponseRevealed")) return "revealed";
  const committee = currentCommittee(events);
  const answered = after.filter((e) => e.name === "ResponseCommitted" || e.name === "ResponseDeclined").length;
  return committee.length > 0 && answered >= committee.length ? "committed" : "requested";
}

/** Seconds from the request's block to its finalizing block; null until finalized or while a time is unknown. */
export function latencyOf(events: readonly IndexedEvent[], timeOf: BlockTime): number | null {
  const requested = events.find((e) => e.name === "ChatRequested");
  const finalized = events.find((e) => e.name === "RecordFinalized");
  if (!requested || !finalized) return null;
  const [start, end] = [timeOf(requested.block), timeOf(finalized.block)];
  return start === undefined || end === undefined ? null : end - start;
}

export interface ValidatorActivity {
  requests: number;
  committees: number;
  totalSeats: number;
  /** Committees drawn, by committee size (the expected seats depend on it). */
  committeesBySize: Map<number, number>;
  /**
   * Committees drawn, grouped by size and by the validators that had not staked yet when they were drawn (lower-case
   * addresses, sorted): a validator that joined later had no chance of a seat in the committees before it.
   */
  drawGroups: { size: number; notYetStaked: string[]; committees: number }[];
  /** By lower-case address. */
  seats: Map<string, number>;
  lastCommit: Map<string, IndexedEvent>;
  lastReveal: Map<string, IndexedEvent>;
  slashes: Map<string, IndexedEvent[]>;
}

/** Committee seats, last commit/reveal and slashes per validator, over every indexed event. */
export function validatorActivity(events: readonly IndexedEvent[]): ValidatorActivity {
  const activity: ValidatorActivity = {
    requests: 0,
    committees: 0,
    totalSeats: 0,
    committeesBySize: new Map(),
    drawGroups: [],
    seats: new Map(),
    lastCommit: new Map(),
    lastReveal: new Map(),
    slashes: new Map(),
  };
  const key = (e: IndexedEvent) => (e.args.validator as string).toLowerCase();
  // A validator's first stake seen; validators staked before the index begins count as staked from the start.
  const firstStakeAt = new Map<string, number>();
  events.forEach((e, position) => {
    if (e.name === "ValidatorStaked" && !firstStakeAt.has(key(e))) firstStakeAt.set(key(e), position);
  });
  const groups = new Map<string, ValidatorActivity["drawGroups"][number]>();
  events.forEach((e, position) => {
    if (e.name !== "CommitteeDrawn") return;
    const size = (e.args.committee as string[]).length;
    const notYetStaked = [...firstStakeAt].filter(([, at]) => at > position).map(([validator]) => validator).sort();
    const groupKey = `${size}:${notYetStaked.join(",")}`;
    const group = groups.get(groupKey) ?? { size, notYetStaked, committees: 0 };
    group.committees++;
    groups.set(groupKey, group);
  });
  activity.drawGroups = [...groups.values()];
  for (const e of events) {
    if (e.name === "ChatRequested") activity.requests++;
    else if (e.name === "CommitteeDrawn") {
      activity.committees++;
      const size = (e.args.committee as string[]).length;
      activity.committeesBySize.set(size, (activity.committeesBySize.get(size) ?? 0) + 1);
      for (const member of e.args.committee as string[]) {
        const k = member.toLowerCase();
        activity.seats.set(k, (activity.seats.get(k) ?? 0) + 1);
        activity.totalSeats++;
      }
    } else if (e.name === "ResponseCommitted") activity.lastCommit.set(key(e), e);
    else if (e.name === "ResponseRevealed") activity.lastReveal.set(key(e), e);
    else if (e.name === "MemberSlashed") activity.slashes.set(key(e), [...(activity.slashes.get(key(e)) ?? []), e]);
  }
  return activity;
}

export { slashReason };
