/**
 * A batch of chat requests sent from several user accounts side by side, and the count of how they ended, read from
 * the chain's events: finalized (and how many finalized more than once), declined, timed out for good, lost (no outcome
 * before the deadline) and the reassignments on the way.
 */
import type { JsonRpcProvider, Wallet } from "ethers";
import type { DeploymentFile } from "../../oracle/src/chain/deployments";
import { contractsOf, sendChatRequest } from "./network";

export interface SentBatch {
  ids: bigint[];
  /** The block before the first request: the outcomes are read from here on. */
  fromBlock: number;
}

/**
 * Sends `count` requests, request i from `users[i % users.length]`; each user sends its own one after another (its
 * nonces), the users side by side.
 */
export async function sendRequestBatch(
  provider: JsonRpcProvider,
  deployment: DeploymentFile,
  users: readonly Wallet[],
  options: { count: number; maxNewTokens: number; label: string },
): Promise<SentBatch> {
  const fromBlock = await provider.getBlockNumber();
  const ids: bigint[] = new Array(options.count);
  await Promise.all(
    users.map(async (user, lane) => {
      const signer = user.connect(provider);
      for (let i = lane; i < options.count; i += users.length) {
        const sent = await sendChatRequest(provider, deployment, signer, { prompt: `${options.label} request ${i}: what comes next?`, maxNewTokens: options.maxNewTokens });
        ids[i] = sent.requestId;
      }
    }),
  );
  return { ids, fromBlock };
}

export interface BatchOutcome {
  requested: number;
  finalized: number;
  /** Requests with more than one RecordFinalized (the contract allows none). */
  finalizedTwice: number;
  declined: number;
  timedOut: number;
  /** Requests that never finalized (timed out for good, declined, or no outcome before the deadline). */
  lost: number;
  /** Requests with no outcome at all before the deadline. */
  unresolved: number;
  /** CommitteeReassigned events of the batch: attempts that timed out and were drawn again. */
  reassigned: number;
  /** Validators (lower-case) whose seats were reassigned: the committee of each attempt that timed out. */
  reassignedFrom: Set<string>;
}

/**
 * Follows the chat registry's events from `batch.fromBlock` until every request of the batch finalized, was declined
 * or timed out for good, or `timeoutMs` passed; then counts once more after `settleMs` so a late second
 * finalization would show.
 */
export async function awaitBatch(
  provider: JsonRpcProvider,
  deployment: DeploymentFile,
  batch: SentBatch,
  options: { timeoutMs: number; pollMs?: number; settleMs?: number },
): Promise<BatchOutcome> {
  const { chat } = contractsOf(deployment, provider);
  const wanted = new Set(batch.ids);
  const finalized = new Map<bigint, number>();
  const ended = new Map<bigint, "declined" | "timed_out">();
  const committees = new Map<string, string[]>(); // `${id}/${attempt}` → committee
  const reassignedFrom = new Set<string>();
  let reassigned = 0;
  let next = batch.fromBlock + 1;
  const readNewEvents = async () => {
    const head = await provider.getBlockNumber();
    if (head < next) return;
    const logs = await provider.getLogs({ address: deployment.addresses.ChatRecordRegistry, fromBlock: next, toBlock: head });
    next = head + 1;
    for (const log of logs) {
      const parsed = chat.interface.parseLog(log);
      const id = parsed?.args.requestId as bigint | undefined;
      if (!parsed || id === undefined || !wanted.has(id)) continue;
      if (parsed.name === "RecordFinalized") finalized.set(id, (finalized.get(id) ?? 0) + 1);
      else if (parsed.name === "RequestDeclined") ended.set(id, "declined");
      else if (parsed.name === "CommitteeDrawn") committees.set(`${id}/${parsed.args.attempt}`, (parsed.args.committee as string[]).map((a) => a.toLowerCase()));
      else if (parsed.name === "RequestTimedOut") {
        if (parsed.args.exhausted) ended.set(id, "timed_out");
        for (const member of committees.get(`${id}/${parsed.args.attempt}`) ?? []) reassignedFrom.add(member);
      } else if (parsed.name === "CommitteeReassigned") reassigned++;
    }
  };
  const open = () => batch.ids.filter((id) => !finalized.has(id) && !ended.has(id)).length;
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    await readNewEvents();
    if (open() === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
  }
  await new Promise((r) => setTimeout(r, options.settleMs ?? 1_000));
  await readNewEvents();
  const values = [...ended.values()];
  return {
    requested: batch.ids.length,
    finalized: finalized.size,
    finalizedTwice: [...finalized.values()].filter((n) => n > 1).length,
    declined: values.filter((v) => v === "declined").length,
    timedOut: values.filter((v) => v === "timed_out").length,
    lost: batch.ids.length - finalized.size,
    unresolved: open(),
    reassigned,
    reassignedFrom,
  };
}
