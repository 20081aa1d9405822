import { RequestStatus, type ChatRegistryClient } from "../chain/chatRegistry";
import { TxRevertedError, type Submitter } from "../chain/submitter";
import type { Common } from "../common";
import type { Journal } from "./journal";

export interface TimeoutSweeperOptions {
  journal: Journal;
  registry: ChatRegistryClient;
  /** Pays for `timeout` calls (any staked or unstaked account may call it). */
  submitter: Submitter;
  /** Milliseconds between sweeps. */
  intervalMs?: number;
}

export interface TimeoutSweeper {
  /** One pass over the open requests whose deadline passed; returns how many `timeout` calls were mined. */
  sweep(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Calls `timeout(requestId)` on requests whose attempt is overdue — any node may — so no request stays stuck when a
 * committee member is offline: the contract slashes the members at fault and reassigns or refunds the request.
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
      if (record.status === RequestStatus.Finalized || record.status >= RequestStatus.TimedOut) {
        journal.markRequestClosed(id, Number.MAX_SAFE_INTEGER); // its closing event is applied by the listener
        continue;
      }
      const members = await registry.getMembers(id);
      const committed = members.filter((m) => m.committed).length;
      const callable = now > record.revealDeadline || (now > record.commitDeadline && committed < record.quorum);
      if (!callable) {
        journal.setRequestDeadline(id, (now > record.commitDeadline ? record.revealDeadline : record.commitDeadline) + 1);
        continue;
      }
      try {
        const mined = await submitter.send(
          { kind: "timeout", to: registry.address, data: registry.encodeTimeout(id) },
          { revertExpected: true },
        );
        sent++;
        log.info({ requestId: id.toString(), attempt: record.attempt, tx: mined.hash }, "timed out overdue request");
      } catch (error) {
        // Another node's timeout got there first, or the block time is not past the deadline yet: look again later.
        if (!(error instanceof TxRevertedError)) throw error;
        journal.setRequestDeadline(id, now + 1);
        log.debug({ requestId: id.toString(), err: error.message }, "timeout not callable");
      }
    }
    return sent;
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      current = sweep()
        .catch((error) => {
          log.warn({ err: (error as Error).message }, "timeout sweep failed");
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
