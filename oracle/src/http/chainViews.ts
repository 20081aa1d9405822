import { Contract, type Provider, ZeroHash } from "ethers";
import type { JsonRpcSender } from "../chain/jsonRpc";
import type { Logger } from "pino";
import type { Deployment } from "../chain/deployments";
import { type TokenUnits, UNKNOWN_TOKEN, readTokenUnits } from "../chain/errorText";
import { classifyRpcError, shortMessage } from "../chain/rpc";
import type { Metrics } from "../metrics";
import type { ChainEventLog } from "../store/chainEventLog";
import { ChainIndex, type ChainActivity, type IndexedEvent } from "./chainIndex";
import { inclusionProbabilities } from "./selectionOdds";
import { createChatRegistryClient, decodePrompt } from "../chain/chatRegistry";
import { createThreadReader, type ThreadTurn } from "../chain/threads";
import { chainRef, currentAttempt, currentCommittee, eventOrder, latencyOf, slashReason, statusFromEvents, timelineOf, validatorActivity } from "./eventViews";
import {
  REQUEST_STATUSES,
  type AnchoredBatchView,
  type ChainRef,
  type ModelView,
  type NetworkView,
  type RequestOnChain,
  type RequestStatusName,
  type RequestSummary,
  type RpcHealth,
} from "./viewTypes";

export * from "./viewTypes";
export type { ChainActivity } from "./chainIndex";

/** Read-only views of the deployed registries for the HTTP API. */
export interface ChainViews {
  readonly chainId: number;
  readonly addresses: { chatRecordRegistry: string; validatorRegistry: string };
  health(): Promise<RpcHealth>;
  /** Undefined for an id never requested. */
  getRequest(requestId: bigint): Promise<RequestOnChain | undefined>;
  /**
   * The conversation thread up to `requestId`: its turns root first (texts from chain events where found), and the
   * ids of the turns that extend `requestId`. Undefined for an id never requested.
   */
  getThread(requestId: bigint): Promise<{ turns: ThreadTurn[]; continuations: string[] } | undefined>;
  listRequests(limit: number): Promise<RequestSummary[]>;
  getNetwork(): Promise<NetworkView>;
  getModels(): Promise<ModelView[]>;
  getAnchoredBatch(batchId: bigint): Promise<AnchoredBatchView | undefined>;
  /** ChatRecordRegistry.verifyRecord, evaluated by the chain (which computes the leaf from the record's fields). */
  verifyRecord(batchId: bigint, record: RecordFields, proof: readonly string[]): Promise<boolean>;
  /** New chain events (and reorgs) as the listener applies them; reads its event log while someone listens. */
  onActivity(listener: (activity: ChainActivity) => void): () => void;
  close(): void;
}

/** The hashed fields of an off-chain record, from which the contract computes its Merkle leaf. */
export interface RecordFields {
  promptHash: string;
  responseHash: string;
  modelHash: string;
  validator: string;
}

export interface ChainViewsOptions {
  deployment: Deployment;
  /** A read-only provider (`createProvider` of chain/rpc.ts) for contract state; events come from `events`. */
  provider: Provider & JsonRpcSender;
  /** The listener's event log (the chain is read once, by the listener). */
  events: ChainEventLog;
  /** Retention of the events the views derive from (see ChainIndex). */
  retention?: { maxEvents: number; maxAgeBlocks?: number };
  /** The block the listener processed up to (`RpcHealth.indexedBlock`, the age bound's reference). */
  processedBlock?: () => number | undefined;
  /**
   * Awaited before each read: tests step their listener by hand here; the node's listener runs on its own and the
   * views read what it applied so far.
   */
  catchUp?: () => Promise<void>;
  logger: Logger;
  metrics: Metrics;
  /** How often the event log is read for /v1/events subscribers. */
  pollIntervalMs?: number;
}

/** Retention when none is given: as many events as fit a few tens of MB of memory. */
export const DEFAULT_INDEX_RETENTION = { maxEvents: 50_000 };

const statusName = (status: number): RequestStatusName => REQUEST_STATUSES[status] ?? "none";
const nonZero = (hash: string): string | null => (hash === ZeroHash ? null : hash);

export function createChainViews(options: ChainViewsOptions): ChainViews {
  const { deployment, provider, logger, metrics } = options;
  const chat = new Contract(deployment.chatRecordRegistry.address, deployment.chatRecordRegistry.iface, provider);
  const validators = new Contract(deployment.validatorRegistry.address, deployment.validatorRegistry.iface, provider);
  const threads = createThreadReader({
    registry: createChatRegistryClient(deployment.chatRecordRegistry, provider, metrics),
    chatRecordRegistry: deployment.chatRecordRegistry,
    provider,
    startBlock: deployment.startBlock,
    blockRange: 10_000, // providers cap eth_getLogs ranges; a thread's turns are found range by range
  });
  const timestamps = new Map<number, number>();
  const index = new ChainIndex({
    events: options.events,
    contracts: { chatRecordRegistry: deployment.chatRecordRegistry, validatorRegistry: deployment.validatorRegistry },
    logger,
    retention: options.retention ?? DEFAULT_INDEX_RETENTION,
    headBlock: options.processedBlock,
  });
  const stopForgettingTimes = options.events.onDropAbove((ancestor) => {
    for (const block of timestamps.keys()) if (block > ancestor) timestamps.delete(block);
  });
  /** The events the listener applied so far, in the index; no RPC unless a test's `catchUp` steps a listener. */
  async function sync(): Promise<void> {
    await options.catchUp?.();
    index.sync();
  }
  let lastHealth: RpcHealth | undefined;

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw classifyRpcError(error, what, metrics);
    }
  }

  /** Block timestamps, cached (a block's time never changes; those of blocks a reorg dropped are forgotten). */
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

  let tokenUnits: TokenUnits | undefined;
  /** The stake token's symbol and decimals, read once (a failed read shows "tokens" and is tried again next time). */
  async function stakeTokenUnits(): Promise<TokenUnits> {
    if (tokenUnits) return tokenUnits;
    const address = await call("token", () => validators.token() as Promise<string>);
    const units = await readTokenUnits(provider, address);
    if (units !== UNKNOWN_TOKEN) tokenUnits = units;
    return units;
  }

  const timeOf = (block: number) => timestamps.get(block);
  const ref = (e: IndexedEvent): ChainRef => chainRef(e, timeOf);

  // The index follows the log on its own, so that subscribers hear of new events and retention holds while the API
  // is not asked anything.
  const pollTimer = setInterval(() => {
    sync().catch((error) => logger.warn({ err: error }, "api index poll failed"));
  }, options.pollIntervalMs ?? 500);
  pollTimer.unref();

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
      await sync();
      // Ids are sequential from 1, so the count answers "unknown" without decoding a revert.
      const count = (await call("requestCount", () => chat.requestCount())) as bigint;
      if (requestId < 1n || requestId > count) return undefined;
      const [record, members] = await call("getRecord", () => Promise.all([chat.getRecord(requestId), chat.getMembers(requestId)]));
      const events = [...index.forRequest(requestId)].sort(eventOrder);
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
        committee: (members as { validator: string; committed: boolean; revealed: boolean; declined: boolean; commitment: string; responseHash: string }[]).map((m) => ({
          validator: m.validator,
          committed: m.committed,
          revealed: m.revealed,
          declined: m.declined,
          commitment: nonZero(m.commitment),
          responseHash: nonZero(m.responseHash),
          agreed: finalHash === null ? null : m.responseHash === finalHash,
        })),
        timeline: timelineOf(events, timeOf),
        latencySeconds: latencyOf(events, timeOf),
        // Raw bytes in the event: the text shows U+FFFD where they are not UTF-8 (and then does not match the hash).
        eventPrompt: requested ? decodePrompt(requested.args.prompt as string).text : null,
        eventResponses,
      };
    },

    async getThread(requestId) {
      await sync();
      const count = (await call("requestCount", () => chat.requestCount())) as bigint;
      if (requestId < 1n || requestId > count) return undefined;
      const turns = await call("read thread", () => threads.thread(requestId));
      const continuations = index
        .all()
        .filter((e) => e.name === "ThreadExtended" && (e.args.parentId as bigint) === requestId)
        .map((e) => (e.args.requestId as bigint).toString());
      return { turns, continuations };
    },

    async listRequests(limit) {
      await sync();
      const summaries: RequestSummary[] = [];
      const ids = index.recentRequestIds(limit);
      const eventsById = ids.map((id) => [...index.forRequest(id)].sort(eventOrder));
      await timestampsOf(eventsById.flat().filter((e) => e.name === "ChatRequested" || e.name === "RecordFinalized").map((e) => e.block));
      ids.forEach((id, i) => {
        const events = eventsById[i];
        const requested = events.find((e) => e.name === "ChatRequested")!;
        const finalized = events.find((e) => e.name === "RecordFinalized");
        summaries.push({
          requestId: id.toString(),
          status: statusFromEvents(events),
          requester: requested.args.requester as string,
          modelId: Number(requested.args.modelId),
          fee: "",
          promptHash: requested.args.promptHash as string,
          responseHash: finalized ? (finalized.args.responseHash as string) : null,
          committee: currentCommittee(events),
          attempt: currentAttempt(events),
          requested: ref(requested),
          finalized: finalized ? ref(finalized) : null,
          latencySeconds: latencyOf(events, timeOf),
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
      await sync();
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
        Promise.all(
          addresses.map(async (a) => [await validators.validatorInfo(a), await validators.isActive(a), (await chat.creditOf(a)) as bigint] as const),
        ),
      );

      const activity = validatorActivity(index.all());
      const { seats, lastCommit, lastReveal, slashes, totalSeats } = activity;
      const recentSlashes = (key: string) => (slashes.get(key) ?? []).slice(-10);
      await timestampsOf([
        ...[...lastCommit.values(), ...lastReveal.values()].map((e) => e.block),
        ...addresses.flatMap((a) => recentSlashes(a.toLowerCase()).map((e) => e.block)),
      ]);

      const total = totalStake as bigint;
      const share = (stake: bigint) => (total === 0n ? 0 : Number((stake * 1_000_000_000n) / total) / 1e9);
      // Expected seats with today's stakes: Σ over the committees drawn of the chance of a seat, among the validators
      // that had staked when each was drawn.
      const unit = (stakeUnit as bigint) > 0n ? (stakeUnit as bigint) : 1n;
      const weights = infos.map(([info, active]) => (active ? Number((info.stake as bigint) / unit) : 0));
      const expected = new Array<number>(addresses.length).fill(0);
      for (const { size, notYetStaked, committees } of activity.drawGroups) {
        const absent = new Set(notYetStaked);
        const staked = weights.map((w, i) => (absent.has(addresses[i].toLowerCase()) ? 0 : w));
        inclusionProbabilities(staked, size).forEach((p, i) => (expected[i] += committees * p));
      }
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
          stakeToken: await stakeTokenUnits(),
        },
        draws: { requests: activity.requests, committees: activity.committees, seats: totalSeats },
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
          const [info, active, credit] = infos[i];
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
            credit: credit.toString(),
            selection: { seats: seats.get(key) ?? 0, expectedSeats: Math.round(expected[i] * 100) / 100 },
            lastCommit: withRequest(lastCommit.get(key)),
            lastReveal: withRequest(lastReveal.get(key)),
            slashes: {
              count: slashList.length,
              amount: slashList.reduce((sum, e) => sum + (e.args.amount as bigint), 0n).toString(),
              recent: recentSlashes(key).map((e) => ({
                ...ref(e),
                requestId: (e.args.requestId as bigint).toString(),
                reason: slashReason(e.args.reason),
                amount: (e.args.amount as bigint).toString(),
              })),
            },
          };
        }),
      };
    },

    async getModels() {
      await sync();
      const registered: { modelId: number; event: IndexedEvent | null }[] = index
        .modelRegistrations()
        .map((e) => ({ modelId: Number(e.args.modelId), event: e }));
      // The deployment's own model is known before the listener reaches its registration (a node just started).
      if (deployment.modelId !== undefined && !registered.some((r) => r.modelId === deployment.modelId)) {
        registered.push({ modelId: deployment.modelId, event: null });
      }
      await timestampsOf(registered.flatMap((r) => (r.event ? [r.event.block] : [])));
      const models = await call("getModel", () =>
        Promise.all(
          registered.map(async ({ modelId, event: e }) => {
            const model = await chat.getModel(modelId);
            const limits = {
              maxPromptBytes: Number(model.limits.maxPromptBytes),
              maxNewTokens: Number(model.limits.maxNewTokens),
              contextLength: Number(model.limits.contextLength),
            };
            return { modelId, modelHash: model.modelHash as string, enabled: model.enabled as boolean, limits, uri: model.uri as string, registered: e ? ref(e) : null };
          }),
        ),
      );
      return models.filter((m) => m.modelHash !== ZeroHash);
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

    verifyRecord(batchId, r, proof) {
      return call("verifyRecord", () => chat.verifyRecord(batchId, r.promptHash, r.responseHash, r.modelHash, r.validator, [...proof]) as Promise<boolean>);
    },

    onActivity(listener) {
      return index.onActivity(listener);
    },

    close() {
      clearInterval(pollTimer);
      stopForgettingTimes();
      index.close();
    },
  };
  return views;
}
