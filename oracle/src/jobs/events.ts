import type pino from "pino";
import { decodePrompt } from "../chain/chatRegistry";
import type { ChainEvent } from "../chain/listener";
import type { Metrics } from "../metrics";
import type { ChainEventLog } from "../store/chainEventLog";
import type { ContentStore } from "../store/contentStore";
import type { Journal } from "./journal";

export interface EventApplierOptions {
  journal: Journal;
  /** Addresses (any case) of the validator keys this process runs. */
  validators: readonly string[];
  /** Prompts and revealed responses go here, so the HTTP API can serve the text behind each on-chain hash. */
  contentStore?: ContentStore;
  /** Every applied event is kept here for the HTTP API's views (the API reads no logs of its own). */
  eventLog?: ChainEventLog;
  logger: pino.Logger;
  metrics: Metrics;
  /**
   * A new attempt of a request began (ChatRequested, CommitteeReassigned): its committee is not drawn yet, so the
   * seat finder asks `previewCommittee` whether one of our validators sits on it (see jobs/seats.ts).
   */
  onAttempt?: (requestId: bigint, block: number, attempt: number) => void;
}

/** Adds a job for each of our validators on `committee` (a re-processed event keeps the existing rows). */
export function addCommitteeJobs(
  journal: Journal,
  ours: ReadonlySet<string>,
  log: pino.Logger,
  seat: { requestId: bigint; committee: readonly string[]; round: number; block: number },
): number {
  const { requestId, committee, round, block } = seat;
  const request = journal.getRequest(requestId);
  if (!request) {
    log.error({ requestId: requestId.toString() }, "committee for a request never seen; skipping");
    return 0;
  }
  let added = 0;
  for (const member of committee) {
    if (!ours.has(member.toLowerCase())) continue;
    const inserted = journal.addJob({
      requestId,
      validator: member,
      round,
      modelId: request.modelId,
      prompt: request.prompt,
      promptHash: request.promptHash,
      maxNewTokens: request.maxNewTokens,
      seenBlock: block,
    });
    if (inserted) {
      added++;
      log.info({ requestId: requestId.toString(), validator: member, round, block }, "assigned to committee");
    }
  }
  return added;
}

/**
 * Turns registry events into journal rows. Runs synchronously inside the listener's SQLite transaction (see
 * `createListener`), so every event is applied exactly once, including across crashes and after reorgs.
 */
export function createEventApplier(options: EventApplierOptions): (events: ChainEvent[]) => void {
  const { journal, contentStore, eventLog, logger, metrics } = options;
  const ours = new Set(options.validators.map((v) => v.toLowerCase()));
  const log = logger.child({ component: "events" });

  const addJobs = (requestId: bigint, committee: readonly string[], round: number, block: number) =>
    addCommitteeJobs(journal, ours, log, { requestId, committee, round, block });

  const closedMessage = { finalized: "request finalized", timed_out: "request timed out", declined: "request declined" } as const;
  function closeJobs(
    requestId: bigint,
    to: "finalized" | "timed_out" | "declined",
    block: number,
    round?: number,
    states?: Parameters<Journal["closeRequest"]>[4],
  ) {
    for (const job of journal.closeRequest(requestId, to, block, round, states)) {
      metrics.requestsTotal.inc({ status: to });
      log.info({ requestId: requestId.toString(), validator: job.validator, round: job.round, block }, closedMessage[to]);
    }
  }

  return (events) => {
    for (const event of events) {
      eventLog?.append({
        block: event.blockNumber,
        logIndex: event.logIndex,
        txHash: event.transactionHash,
        address: event.address,
        name: event.name,
        topics: event.topics,
        data: event.data,
        args: event.args,
      });
      const requestId = event.args.requestId as bigint | undefined;
      switch (event.name) {
        case "ChatRequested": {
          // Raw bytes: the text keeps U+FFFD for invalid UTF-8 (the pipeline declines such a prompt); only a valid
          // prompt goes to the content store, whose key is the hash of the text.
          const { text: prompt, validUtf8 } = decodePrompt(event.args.prompt as string);
          if (validUtf8) contentStore?.put(prompt, event.args.promptHash as string);
          const commitDeadline = Number(event.args.commitDeadline);
          journal.trackRequest({
            requestId: requestId as bigint,
            seenBlock: event.blockNumber,
            modelId: String(event.args.modelId),
            prompt,
            promptHash: event.args.promptHash as string,
            maxNewTokens: Number(event.args.maxNewTokens),
            // `timeout` opens strictly after a deadline; the commit deadline is the earliest it may.
            deadline: commitDeadline + 1,
          });
          options.onAttempt?.(requestId as bigint, event.blockNumber, 1);
          break;
        }
        case "SeedRenewed":
          // The renewed seed previews another committee: every node looks again for its seats (the seat finder of a
          // node that found none under the lost seed had let the attempt go).
          options.onAttempt?.(requestId as bigint, event.blockNumber, Number(event.args.attempt));
          break;
        case "CommitteeDrawn":
          addJobs(requestId as bigint, event.args.committee as string[], Number(event.args.attempt), event.blockNumber);
          journal.nudge(requestId as bigint);
          break;
        case "CommitteeReassigned": {
          closeJobs(requestId as bigint, "timed_out", event.blockNumber);
          journal.setRequestDeadline(requestId as bigint, Number(event.args.commitDeadline) + 1);
          options.onAttempt?.(requestId as bigint, event.blockNumber, Number(event.args.attempt));
          break;
        }
        case "ResponseCommitted":
        case "ResponseDeclined":
          journal.nudge(requestId as bigint);
          break;
        case "ResponseRevealed":
          // The chain hashed the text's raw bytes: its hash is the stored text's only when they were valid UTF-8.
          contentStore?.put(event.args.responseText as string, event.invalidUtf8.includes("responseText") ? undefined : (event.args.responseHash as string));
          journal.nudge(requestId as bigint);
          break;
        case "RecordFinalized":
          // Reveals stay open until the reveal deadline (a late agreeing reveal is paid): only jobs done on our side
          // close here; the others re-read the chain (commit too late, or reveal late). The request stays open for
          // the sweeper's `settle`.
          closeJobs(requestId as bigint, "finalized", event.blockNumber, undefined, ["revealed"]);
          journal.markRequestFinalized(requestId as bigint, event.blockNumber);
          journal.nudge(requestId as bigint);
          break;
        case "RequestDeclined":
          // Seats that have not acted yet stay open: they may still decline (and be paid) until the commit deadline.
          closeJobs(requestId as bigint, "declined", event.blockNumber, undefined, ["inferred", "committed", "revealed"]);
          journal.nudge(requestId as bigint);
          break;
        case "RequestSettled":
          journal.markRequestClosed(requestId as bigint, event.blockNumber);
          break;
        case "RequestTimedOut":
          closeJobs(requestId as bigint, "timed_out", event.blockNumber, Number(event.args.attempt));
          if (event.args.exhausted as boolean) journal.markRequestClosed(requestId as bigint, event.blockNumber);
          break;
        case "MemberSlashed":
          if (ours.has((event.args.validator as string).toLowerCase())) {
            log.warn(
              { requestId: requestId?.toString(), validator: event.args.validator, reason: Number(event.args.reason), amount: String(event.args.amount) },
              "validator slashed",
            );
          }
          break;
        default:
          break;
      }
    }
  };
}
