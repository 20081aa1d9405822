import { type ChatRegistryClient, type MemberState, type OnChainRecord, RequestStatus } from "../chain/chatRegistry";
import { TxRevertedError, type Submitter } from "../chain/submitter";
import type { Common } from "../common";
import type { Journal } from "./journal";

export interface TimeoutSweeperOptions {
  journal: Journal;
  registry: ChatRegistryClient;
  /** Pays for `timeout` and `settle` calls (any staked or unstaked account may call them). */
  submitter: Submitter;
  /** Milliseconds between sweeps. */
  intervalMs?: number;
}

export interface TimeoutSweeper {
  /** One pass over the open requests whose deadline passed; returns how many `timeout`/`settle` calls were mined. */
  sweep(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Calls `timeout(requestId)` on requests whose attempt is overdue — any node may — so no request stays stuck when a
 * committee member is offline: the contract slashes the members at fault and reassigns or refunds the request. After
 * the reveal deadline of a Finalized or Declined request it calls `settle(requestId)`, which slashes the members that
 * did not take part and credits the unearned shares back to the requester (skipped when every member agreed with the
 * outcome: nothing to slash or refund).
 */
export function createTimeoutSweeper(common: Common, options: TimeoutSweeperOptions): TimeoutSweeper {
  const { logger, config } = common;
  const { journal, registry, submitter } = options;
  const log = logger.child({ component: "timeouts" });
  const interval = options.intervalMs ?? Math.max(config.pollIntervalMs, 1_000);
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<number> | undefined;
  let stopped = false;

  async function sweep(): Promise<number> {
    const now = await registry.chainTime();
    let sent = 0;
    for (const request of journal.expiredRequests(now)) {
      const id = request.requestId;
      const record = await registry.getRecord(id);
      if (record.status === RequestStatus.TimedOut || record.settled) {
        journal.markRequestClosed(id, Number.MAX_SAFE_INTEGER); // its closing event is applied by the listener
        continue;
      }
      const members = await registry.getMembers(id);
      if (record.status === RequestStatus.Finalized || record.status === RequestStatus.Declined) {
        if (nothingToSettle(record, members)) {
          journal.markRequestClosed(id, Number.MAX_SAFE_INTEGER);
          continue;
        }
        if (now <= record.revealDeadline) {
          journal.setRequestDeadline(id, record.revealDeadline + 1);
          continue;
        }
        if (await send(id, "settle", now)) {
          sent++;
          log.info({ requestId: id.toString(), attempt: record.attempt }, "settled request");
        }
        continue;
      }
      const committed = members.filter((m) => m.committed).length;
      const callable = now > record.revealDeadline || (now > record.commitDeadline && committed < record.quorum);
      if (!callable) {
        journal.setRequestDeadline(id, (now > record.commitDeadline ? record.revealDeadline : record.commitDeadline) + 1);
        continue;
      }
      if (await send(id, "timeout", now)) {
        sent++;
        log.info({ requestId: id.toString(), attempt: record.attempt }, "timed out overdue request");
      }
    }
    return sent;
  }

  /** Sends `timeout` or `settle`; false when it reverted (another node got there first, or the block time is not past
   *  the deadline yet: look again later). */
  async function send(id: bigint, kind: "timeout" | "settle", now: number): Promise<boolean> {
    try {
      const data = kind === "timeout" ? registry.encodeTimeout(id) : registry.encodeSettle(id);
      await submitter.send({ kind, to: registry.address, data }, { revertExpected: true });
      return true;
    } catch (error) {
      if (!(error instanceof TxRevertedError)) throw error;
      journal.setRequestDeadline(id, now + 1);
      log.debug({ requestId: id.toString(), err: error }, `${kind} not callable`);
      return false;
    }
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      current = sweep()
        .catch((error) => {
          log.warn({ err: error }, "timeout sweep failed");
          return 0;
        })
        .finally(schedule);
    }, interval);
  }

  return {
    sweep,
    start: schedule,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}

/** Every member took the outcome's side (revealed the final answer, or declined a declined request): `settle` would
 *  slash nobody and refund nothing. */
export function nothingToSettle(record: OnChainRecord, members: readonly MemberState[]): boolean {
  if (members.length === 0) return false;
  if (record.status === RequestStatus.Declined) return members.every((m) => m.declined);
  return members.every((m) => m.revealed && m.responseHash.toLowerCase() === record.responseHash.toLowerCase());
}
