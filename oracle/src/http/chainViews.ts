import { Contract, ZeroHash, type Provider } from "ethers";
import type { Logger } from "pino";
import type { Deployment } from "../chain/deployments";
import { classifyRpcError, shortMessage } from "../chain/rpc";
import type { Metrics } from "../metrics";
import { ChainIndex, type ChainActivity, type IndexedEvent } from "./chainIndex";

/** Status names the API uses, in IChatRecordRegistry.Status order. */
export const REQUEST_STATUSES = ["none", "requested", "committed", "revealed", "finalized", "timed_out", "refunded"] as const;
export type RequestStatusName = (typeof REQUEST_STATUSES)[number];
export const SLASH_REASONS = ["missed_commit", "missed_reveal", "dissent"] as const;

/** Where something happened on-chain. `timestamp` is the block's unix time in seconds. */
export interface ChainRef {
  block: number;
  txHash: string;
  timestamp: number | null;
}

export type TimelineEntry = ChainRef & {
  type: "requested" | "reassigned" | "committed" | "revealed" | "finalized" | "slashed" | "timed_out" | "refunded" | "callback_failed";
  attempt?: number;
  validator?: string;
  responseHash?: string;
  reason?: string;
  amount?: string;
  final?: boolean;
};

export interface CommitteeMemberView {
  validator: string;
  committed: boolean;
  revealed: boolean;
  commitment: string | null;
  responseHash: string | null;
  /** Revealed the finalized hash (null until finalized). */
  agreed: boolean | null;
}

/** A request as the chain knows it; texts are the raw event texts (the route checks them against the hashes). */
export interface RequestOnChain {
  requestId: string;
  status: RequestStatusName;
  requester: string;
  modelId: number;
  fee: string;
  attempt: number;
  quorum: number;
  maxNewTokens: number | null;
  consumer: string | null;
  callbackGasLimit: number;
  callbackFailed: boolean;
  commitDeadline: number;
  revealDeadline: number;
  hashes: { prompt: string; response: string | null; model: string };
  committee: CommitteeMemberView[];
  timeline: TimelineEntry[];
  /** Seconds from the request's block to its finalizing block (null until finalized). */
  latencySeconds: number | null;
  /** Prompt text from ChatRequested. */
  eventPrompt: string | null;
  /** Revealed texts by response hash, from ResponseRevealed. */
  eventResponses: Record<string, string>;
}

export interface RequestSummary {
  requestId: string;
  status: RequestStatusName;
  requester: string;
  modelId: number;
  fee: string;
  promptHash: string;
  responseHash: string | null;
  committee: string[];
  attempt: number;
  requested: ChainRef;
  finalized: ChainRef | null;
  latencySeconds: number | null;
}

export interface ValidatorView {
  address: string;
  active: boolean;
  stake: string;
  /** stake / totalStake, 0..1. */
  stakeShare: number;
  endpoint: string;
  unbonding: string;
  /** Unix seconds when the unbonding stake can be withdrawn (null when nothing unbonds). */
  unlockAt: number | null;
  /** Committee seats drawn so far, and seats × current stake share. */
  selection: { seats: number; expectedSeats: number };
  lastCommit: (ChainRef & { requestId: string }) | null;
  lastReveal: (ChainRef & { requestId: string }) | null;
  slashes: { count: number; amount: string; recent: (ChainRef & { requestId: string; reason: string; amount: string })[] };
}

export interface NetworkView {
  blockNumber: number;
  totals: {
    totalStake: string;
    totalUnbonding: string;
    slashedBalance: string;
    activeValidators: number;
    stakeUnit: string;
    minimumStake: string;
    unbondingPeriod: number;
  };
  draws: { requests: number; committees: number; seats: number };
  randomnessSource: string;
  config: {
    minimumFee: string;
    slashAmount: string;
    committeeSize: number;
    quorum: number;
    maxAttempts: number;
    commitWindow: number;
    revealWindow: number;
  };
  validators: ValidatorView[];
}

export interface ModelView {
  modelId: number;
  modelHash: string;
  enabled: boolean;
  uri: string;
  registered: ChainRef | null;
}

export interface AnchoredBatchView {
  batchId: string;
  merkleRoot: string;
  validator: string;
  modelId: number;
  count: number;
  anchoredAt: number;
}

export interface RpcHealth {
  ok: boolean;
  headBlock: number | null;
  latencyMs: number | null;
  indexedBlock: number;
  error: string | null;
  checkedAt: number;
}

/** Read-only views of the deployed registries for the HTTP API. */
export interface ChainViews {
  readonly chainId: number;
  readonly addresses: { chatRecordRegistry: string; validatorRegistry: string };
  health(): Promise<RpcHealth>;
  /** Undefined for an id never requested. */
  getRequest(requestId: bigint): Promise<RequestOnChain | undefined>;
  listRequests(limit: number): Promise<RequestSummary[]>;
  getNetwork(): Promise<NetworkView>;
  getModels(): Promise<ModelView[]>;
  getAnchoredBatch(batchId: bigint): Promise<AnchoredBatchView | undefined>;
  /** ChatRecordRegistry.verifyRecord, evaluated by the chain. */
  verifyRecord(batchId: bigint, leaf: string, proof: readonly string[]): Promise<boolean>;
  /** New chain events; polls while someone listens. */
  onActivity(listener: (activity: ChainActivity) => void): () => void;
  close(): void;
}

export interface ChainViewsOptions {
  deployment: Deployment;
  /** A read-only provider (O1's `createProvider`). */
  provider: Provider;
  logger: Logger;
  metrics: Metrics;
  blockRange?: number;
  /** Poll period for /v1/events subscribers. */
  pollIntervalMs?: number;
  /** Reads within this many ms of the last index sync reuse it (default 250). */
  minSyncIntervalMs?: number;
}

const statusName = (status: number): RequestStatusName => REQUEST_STATUSES[status] ?? "none";
const nonZero = (hash: string): string | null => (hash === ZeroHash ? null : hash);
const order = (a: IndexedEvent, b: IndexedEvent) => a.block - b.block || a.logIndex - b.logIndex;

export function createChainViews(options: ChainViewsOptions): ChainViews {
  const { deployment, provider, logger, metrics } = options;
  const chat = new Contract(deployment.chatRecordRegistry.address, deployment.chatRecordRegistry.iface, provider);
  const validators = new Contract(deployment.validatorRegistry.address, deployment.validatorRegistry.iface, provider);
  const index = new ChainIndex({ deployment, provider, logger, metrics, blockRange: options.blockRange ?? 1000, minSyncIntervalMs: options.minSyncIntervalMs });
  const timestamps = new Map<number, number>();
  let pollTimer: NodeJS.Timeout | undefined;
  let subscribers = 0;
  let lastHealth: RpcHealth | undefined;

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw classifyRpcError(error, what, metrics);
    }
  }

  /** Block timestamps, cached (a block's time never changes, and after a reorg it is re-read with the index). */
  async function timestampsOf(blocks: Iterable<number>): Promise<void> {
    const missing = [...new Set(blocks)].filter((b) => !timestamps.has(b));
    await Promise.all(
      missing.map(async (block) => {
        const b = await call("get block", () => provider.getBlock(block));
        if (b) timestamps.set(block, b.timestamp);
      }),
    );
    if (timestamps.size > 50_000) timestamps.clear();
  }

  const ref = (e: IndexedEvent): ChainRef => ({ block: e.block, txHash: e.txHash, timestamp: timestamps.get(e.block) ?? null });

  function timelineOf(events: readonly IndexedEvent[]): TimelineEntry[] {
    const entries: TimelineEntry[] = [];
    for (const e of events) {
      const a = e.args;
      switch (e.name) {
        case "ChatRequested":
          entries.push({ type: "requested", ...ref(e), attempt: Number(a.attempt) });
          break;
        case "CommitteeReassigned":
          entries.push({ type: "reassigned", ...ref(e), attempt: Number(a.attempt) });
          break;
        case "ResponseCommitted":
          entries.push({ type: "committed", ...ref(e), validator: a.validator as string });
          break;
        case "ResponseRevealed":
          entries.push({ type: "revealed", ...ref(e), validator: a.validator as string, responseHash: a.responseHash as string });
          break;
        case "RecordFinalized":
          entries.push({ type: "finalized", ...ref(e), responseHash: a.responseHash as string });
          break;
        case "MemberSlashed":
          entries.push({
            type: "slashed",
            ...ref(e),
            validator: a.validator as string,
            reason: SLASH_REASONS[Number(a.reason)] ?? String(a.reason),
            amount: (a.amount as bigint).toString(),
          });
          break;
        case "RequestTimedOut":
          entries.push({ type: "timed_out", ...ref(e), attempt: Number(a.attempt), final: a.final as boolean });
          break;
        case "RequestRefunded":
          entries.push({ type: "refunded", ...ref(e), amount: (a.amount as bigint).toString() });
          break;
        case "ConsumerCallbackFailed":
          entries.push({ type: "callback_failed", ...ref(e) });
          break;
      }
    }
    return entries;
  }

  /** Status from events alone (for lists, without one getRecord call per request). */
  function statusFromEvents(events: readonly IndexedEvent[]): RequestStatusName {
    if (events.some((e) => e.name === "RequestRefunded")) return "refunded";
    if (events.some((e) => e.name === "RecordFinalized")) return "finalized";
    if (events.some((e) => e.name === "RequestTimedOut" && e.args.final === true)) return "timed_out";
    const assignments = events.filter((e) => e.name === "ChatRequested" || e.name === "CommitteeReassigned");
    const current = assignments[assignments.length - 1];
    if (!current) return "none";
    const after = events.filter((e) => order(e, current) > 0);
    if (after.some((e) => e.name === "ResponseRevealed")) return "revealed";
    const commits = after.filter((e) => e.name === "ResponseCommitted").length;
    return commits >= (current.args.committee as string[]).length ? "committed" : "requested";
  }

  function latencyOf(events: readonly IndexedEvent[]): number | null {
    const requested = events.find((e) => e.name === "ChatRequested");
    const finalized = events.find((e) => e.name === "RecordFinalized");
    if (!requested || !finalized) return null;
    const [start, end] = [timestamps.get(requested.block), timestamps.get(finalized.block)];
    return start === undefined || end === undefined ? null : end - start;
  }

  function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(() => {
      index.sync().catch((error) => logger.debug({ err: shortMessage(error) }, "api index poll failed"));
    }, options.pollIntervalMs ?? 500);
    pollTimer.unref();
  }

  const views: ChainViews = {
    chainId: deployment.chainId,
    addresses: {
      chatRecordRegistry: deployment.chatRecordRegistry.address,
      validatorRegistry: deployment.validatorRegistry.address,
    },

    async health() {
      // Cached briefly: /v1/node and /metrics scrapes must not turn into an RPC flood.
      if (lastHealth && Date.now() - lastHealth.checkedAt < 1000) return lastHealth;
      const started = performance.now();
      try {
        const headBlock = await provider.getBlockNumber();
        lastHealth = { ok: true, headBlock, latencyMs: Math.round(performance.now() - started), indexedBlock: index.indexedBlock, error: null, checkedAt: Date.now() };
      } catch (error) {
        metrics.rpcErrorsTotal.inc();
        lastHealth = { ok: false, headBlock: null, latencyMs: null, indexedBlock: index.indexedBlock, error: shortMessage(error), checkedAt: Date.now() };
      }
      return lastHealth;
    },

    async getRequest(requestId) {
      await index.sync();
      // Ids are sequential from 1, so the count answers "unknown" without decoding a revert.
      const count = (await call("requestCount", () => chat.requestCount())) as bigint;
      if (requestId < 1n || requestId > count) return undefined;
      const [record, members] = await call("getRecord", () => Promise.all([chat.getRecord(requestId), chat.getMembers(requestId)]));
      const events = [...index.forRequest(requestId)].sort(order);
      await timestampsOf(events.map((e) => e.block));
      const requested = events.find((e) => e.name === "ChatRequested");
      const finalHash = nonZero(record.responseHash as string);
      const eventResponses: Record<string, string> = {};
      for (const e of events) {
        if (e.name === "ResponseRevealed") eventResponses[(e.args.responseHash as string).toLowerCase()] = e.args.responseText as string;
      }
      const consumer = record.consumer as string;
      return {
        requestId: requestId.toString(),
        status: statusName(Number(record.status)),
        requester: record.requester as string,
        modelId: Number(record.modelId),
        fee: (record.fee as bigint).toString(),
        attempt: Number(record.attempt),
        quorum: Number(record.quorum),
        maxNewTokens: requested ? Number(requested.args.maxNewTokens) : null,
        consumer: /^0x0+$/.test(consumer) ? null : consumer,
        callbackGasLimit: Number(record.callbackGasLimit),
        callbackFailed: record.callbackFailed as boolean,
        commitDeadline: Number(record.commitDeadline),
        revealDeadline: Number(record.revealDeadline),
        hashes: { prompt: record.promptHash as string, response: finalHash, model: record.modelHash as string },
        committee: (members as { validator: string; committed: boolean; revealed: boolean; commitment: string; responseHash: string }[]).map((m) => ({
          validator: m.validator,
          committed: m.committed,
          revealed: m.revealed,
          commitment: nonZero(m.commitment),
          responseHash: nonZero(m.responseHash),
          agreed: finalHash === null ? null : m.responseHash === finalHash,
        })),
        timeline: timelineOf(events),
        latencySeconds: latencyOf(events),
        eventPrompt: requested ? (requested.args.prompt as string) : null,
        eventResponses,
      };
    },

    async listRequests(limit) {
      await index.sync();
      const summaries: RequestSummary[] = [];
      const ids = index.recentRequestIds(limit);
      const eventsById = ids.map((id) => [...index.forRequest(id)].sort(order));
      await timestampsOf(eventsById.flat().filter((e) => e.name === "ChatRequested" || e.name === "RecordFinalized").map((e) => e.block));
      ids.forEach((id, i) => {
        const events = eventsById[i];
        const requested = events.find((e) => e.name === "ChatRequested")!;
        const finalized = events.find((e) => e.name === "RecordFinalized");
        const assignments = events.filter((e) => e.name === "ChatRequested" || e.name === "CommitteeReassigned");
        const current = assignments[assignments.length - 1];
        summaries.push({
          requestId: id.toString(),
          status: statusFromEvents(events),
          requester: requested.args.requester as string,
          modelId: Number(requested.args.modelId),
          fee: "",
          promptHash: requested.args.promptHash as string,
          responseHash: finalized ? (finalized.args.responseHash as string) : null,
          committee: [...(current.args.committee as string[])],
          attempt: Number(current.args.attempt),
          requested: ref(requested),
          finalized: finalized ? ref(finalized) : null,
          latencySeconds: latencyOf(events),
        });
      });
      // The fee is only in storage; one batched round of getRecord calls keeps the list complete.
      await Promise.all(
        summaries.map(async (s) => {
          const record = await call("getRecord", () => chat.getRecord(BigInt(s.requestId)));
          s.fee = (record.fee as bigint).toString();
        }),
      );
      return summaries;
    },

    async getNetwork() {
      await index.sync();
      const [count, totalStake, totalUnbonding, slashedBalance, activeValidators, stakeUnit, minimumStake, unbondingPeriod, config, commitWindow, revealWindow, randomnessSource, blockNumber] =
        await call("validator registry views", () =>
          Promise.all([
            validators.validatorCount(),
            validators.totalStake(),
            validators.totalUnbonding(),
            validators.slashedBalance(),
            validators.activeValidatorCount(),
            validators.STAKE_UNIT(),
            validators.minimumStake(),
            validators.unbondingPeriod(),
            chat.getConfig(),
            chat.commitWindow(),
            chat.revealWindow(),
            chat.randomnessSource(),
            provider.getBlockNumber(),
          ]),
        );
      const addresses: string[] = await call("validatorAt", () =>
        Promise.all(Array.from({ length: Number(count) }, (_, i) => validators.validatorAt(i) as Promise<string>)),
      );
      const infos = await call("validatorInfo", () =>
        Promise.all(addresses.map(async (a) => [await validators.validatorInfo(a), await validators.isActive(a)] as const)),
      );

      const seats = new Map<string, number>();
      const lastCommit = new Map<string, IndexedEvent>();
      const lastReveal = new Map<string, IndexedEvent>();
      const slashes = new Map<string, IndexedEvent[]>();
      let committees = 0;
      let totalSeats = 0;
      let requests = 0;
      for (const e of index.all()) {
        if (e.name === "ChatRequested" || e.name === "CommitteeReassigned") {
          if (e.name === "ChatRequested") requests++;
          committees++;
          for (const member of e.args.committee as string[]) {
            seats.set(member.toLowerCase(), (seats.get(member.toLowerCase()) ?? 0) + 1);
            totalSeats++;
          }
        } else if (e.name === "ResponseCommitted") lastCommit.set((e.args.validator as string).toLowerCase(), e);
        else if (e.name === "ResponseRevealed") lastReveal.set((e.args.validator as string).toLowerCase(), e);
        else if (e.name === "MemberSlashed") {
          const key = (e.args.validator as string).toLowerCase();
          slashes.set(key, [...(slashes.get(key) ?? []), e]);
        }
      }
      const recentSlashes = (key: string) => (slashes.get(key) ?? []).slice(-10);
      await timestampsOf([
        ...[...lastCommit.values(), ...lastReveal.values()].map((e) => e.block),
        ...addresses.flatMap((a) => recentSlashes(a.toLowerCase()).map((e) => e.block)),
      ]);

      const total = totalStake as bigint;
      const share = (stake: bigint) => (total === 0n ? 0 : Number((stake * 1_000_000_000n) / total) / 1e9);
      const withRequest = (e: IndexedEvent | undefined) => (e ? { ...ref(e), requestId: (e.args.requestId as bigint).toString() } : null);
      return {
        blockNumber,
        totals: {
          totalStake: total.toString(),
          totalUnbonding: (totalUnbonding as bigint).toString(),
          slashedBalance: (slashedBalance as bigint).toString(),
          activeValidators: Number(activeValidators),
          stakeUnit: (stakeUnit as bigint).toString(),
          minimumStake: (minimumStake as bigint).toString(),
          unbondingPeriod: Number(unbondingPeriod),
        },
        draws: { requests, committees, seats: totalSeats },
        randomnessSource: randomnessSource as string,
        config: {
          minimumFee: (config.minimumFee as bigint).toString(),
          slashAmount: (config.slashAmount as bigint).toString(),
          committeeSize: Number(config.committeeSize),
          quorum: Number(config.quorum),
          maxAttempts: Number(config.maxAttempts),
          commitWindow: Number(commitWindow),
          revealWindow: Number(revealWindow),
        },
        validators: addresses.map((address, i) => {
          const [info, active] = infos[i];
          const key = address.toLowerCase();
          const stake = info.stake as bigint;
          const slashList = slashes.get(key) ?? [];
          const unlockAt = Number(info.unlockAt);
          return {
            address,
            active: active as boolean,
            stake: stake.toString(),
            stakeShare: active ? share(stake) : 0,
            endpoint: info.endpoint as string,
            unbonding: (info.unbonding as bigint).toString(),
            unlockAt: unlockAt === 0 ? null : unlockAt,
            // Current share × seats drawn: exact for committees of one; with larger committees, draws without
            // replacement give small stakes slightly more than their share (documented in docs/api.md).
            selection: { seats: seats.get(key) ?? 0, expectedSeats: Math.round(totalSeats * (active ? share(stake) : 0) * 100) / 100 },
            lastCommit: withRequest(lastCommit.get(key)),
            lastReveal: withRequest(lastReveal.get(key)),
            slashes: {
              count: slashList.length,
              amount: slashList.reduce((sum, e) => sum + (e.args.amount as bigint), 0n).toString(),
              recent: recentSlashes(key).map((e) => ({
                ...ref(e),
                requestId: (e.args.requestId as bigint).toString(),
                reason: SLASH_REASONS[Number(e.args.reason)] ?? String(e.args.reason),
                amount: (e.args.amount as bigint).toString(),
              })),
            },
          };
        }),
      };
    },

    async getModels() {
      await index.sync();
      const registered = index.all().filter((e) => e.name === "ModelRegistered");
      await timestampsOf(registered.map((e) => e.block));
      return call("getModel", () =>
        Promise.all(
          registered.map(async (e) => {
            const modelId = Number(e.args.modelId);
            const model = await chat.getModel(modelId);
            return { modelId, modelHash: model.modelHash as string, enabled: model.enabled as boolean, uri: model.uri as string, registered: ref(e) };
          }),
        ),
      );
    },

    async getAnchoredBatch(batchId) {
      const count = (await call("batchCount", () => chat.batchCount())) as bigint;
      if (batchId < 1n || batchId > count) return undefined;
      try {
        const b = await chat.getBatch(batchId);
        return {
          batchId: batchId.toString(),
          merkleRoot: b.merkleRoot as string,
          validator: b.validator as string,
          modelId: Number(b.modelId),
          count: Number(b.count),
          anchoredAt: Number(b.anchoredAt),
        };
      } catch (error) {
        throw classifyRpcError(error, "getBatch", metrics);
      }
    },

    verifyRecord(batchId, leaf, proof) {
      return call("verifyRecord", () => chat.verifyRecord(batchId, leaf, [...proof]) as Promise<boolean>);
    },

    onActivity(listener) {
      const unsubscribe = index.onActivity(listener);
      subscribers++;
      startPolling();
      return () => {
        unsubscribe();
        if (--subscribers === 0 && pollTimer) {
          clearInterval(pollTimer);
          pollTimer = undefined;
        }
      };
    },

    close() {
      if (pollTimer) clearInterval(pollTimer);
      pollTimer = undefined;
    },
  };
  return views;
}
