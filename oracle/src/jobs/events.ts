import type pino from "pino";
import type { ChainEvent } from "../chain/listener";
import type { Metrics } from "../metrics";
import type { ContentStore } from "../store/contentStore";
import type { DeclineReason, Journal } from "./journal";

export interface EventApplierOptions {
  journal: Journal;
  /** Addresses (any case) of the validator keys this process runs. */
  validators: readonly string[];
  /** Prompts and revealed responses go here, so the HTTP API can serve the text behind each on-chain hash. */
  contentStore?: ContentStore;
  logger: pino.Logger;
  metrics: Metrics;
}

/**
 * Turns registry events into journal rows. Runs synchronously inside the listener's SQLite transaction (see
 * `createListener`), so every event is applied exactly once, including across crashes and after reorgs.
 */
export function createEventApplier(options: EventApplierOptions): (events: ChainEvent[]) => void {
  const { journal, contentStore, logger, metrics } = options;
  const ours = new Set(options.validators.map((v) => v.toLowerCase()));
  const log = logger.child({ component: "events" });

  function addJobs(requestId: bigint, committee: readonly string[], round: number, block: number) {
    const request = journal.getRequest(requestId);
    if (!request) {
      log.error({ requestId: requestId.toString() }, "committee for a request never seen; skipping");
      return;
    }
    for (const member of committee) {
      if (!ours.has(member.toLowerCase())) continue;
      const added = journal.addJob({
        requestId,
        validator: member,
        round,
        modelId: request.modelId,
        prompt: request.prompt,
        promptHash: request.promptHash,
        maxNewTokens: request.maxNewTokens,
        seenBlock: block,
        declineReason: request.declineReason,
      });
      if (added) log.info({ requestId: requestId.toString(), validator: member, round, block }, "assigned to committee");
      if (added && request.declineReason) {
        metrics.unservableRequestsTotal.inc({ reason: request.declineReason });
        log.warn({ requestId: requestId.toString(), validator: member, round, reason: request.declineReason }, "cannot serve request, left to decline");
      }
    }
  }

  function closeJobs(requestId: bigint, to: "finalized" | "timed_out", block: number, round?: number) {
    for (const job of journal.closeRequest(requestId, to, block, round)) {
      metrics.requestsTotal.inc({ status: to });
      log.info({ requestId: requestId.toString(), validator: job.validator, round: job.round, block }, to === "finalized" ? "request finalized" : "request timed out");
    }
  }

  return (events) => {
    for (const event of events) {
      const requestId = event.args.requestId as bigint | undefined;
      switch (event.name) {
        case "ChatRequested": {
          // Shown with U+FFFD where invalid; the hash stays the chain's (of the raw bytes), never one of this text.
          const prompt = event.args.prompt as string;
          const declineReason: DeclineReason | null = event.invalidUtf8.includes("prompt") ? "invalid-utf8" : null;
          if (!declineReason) contentStore?.put(prompt);
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
            declineReason,
          });
          addJobs(requestId as bigint, event.args.committee as string[], Number(event.args.attempt), event.blockNumber);
          break;
        }
        case "CommitteeReassigned": {
          const round = Number(event.args.attempt);
          closeJobs(requestId as bigint, "timed_out", event.blockNumber);
          journal.setRequestDeadline(requestId as bigint, Number(event.args.commitDeadline) + 1);
          addJobs(requestId as bigint, event.args.committee as string[], round, event.blockNumber);
          break;
        }
        case "ResponseCommitted":
          journal.nudge(requestId as bigint);
          break;
        case "ResponseRevealed":
          // A text that is not UTF-8 would be stored under the hash of its replacement, not the chain's.
          if (!event.invalidUtf8.includes("responseText")) contentStore?.put(event.args.responseText as string);
          journal.nudge(requestId as bigint);
          break;
        case "RecordFinalized":
          closeJobs(requestId as bigint, "finalized", event.blockNumber);
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
