import path from "node:path";
import { Wallet, formatEther } from "ethers";
import { type TokenUnits, UNKNOWN_TOKEN, readTokenUnits } from "./chain/errorText";
import { runStartupChecks } from "./chain/startupChecks";
import { createChatRegistryClient } from "./chain/chatRegistry";
import { loadDeployment, type Deployment } from "./chain/deployments";
import { createHeadTracker } from "./chain/heads";
import { createListener, type Listener } from "./chain/listener";
import { chainReadiness } from "./chain/readiness";
import { createProvider, redactUrl } from "./chain/rpc";
import { createSubmitter, type Submitter, type SubmitterHealth } from "./chain/submitter";
import { ANCHOR_GAS_LIMIT, createWalletMonitor } from "./chain/wallets";
import { createCommon, type Common, type CreateCommonOptions } from "./common";
import { readAnchorKey, resolveValidatorKeys, type OracleConfig } from "./config";
import { loadApiKeysFile } from "./http/apiKeys";
import { createChainViews } from "./http/chainViews";
import { createPageRouter } from "./http/page";
import { createHttpServer, type RunningHttpServer } from "./http/server";
import { type InferenceEngine, ensureTinyModel, loadEngine } from "./inference";
import { DEFAULT_TINY_MODEL_DIR } from "./inference/buildModel";
import { createEventApplier } from "./jobs/events";
import { createJournal, type Journal } from "./jobs/journal";
import { createThreadReader } from "./chain/threads";
import { createPipeline, type Pipeline, type PipelineOptions } from "./jobs/pipeline";
import { createSeatFinder } from "./jobs/seats";
import { createTimeoutSweeper } from "./jobs/timeouts";
import { instrumentEngine, instrumentJournal, jobGaugeRefresher } from "./metrics/instrument";
import { createBatchAnchorer } from "./store/batchAnchorer";
import { createChainEventLog } from "./store/chainEventLog";
import { createContentStore } from "./store/contentStore";
import { createContentRetention } from "./store/retention";

export interface OracleNodeOptions extends CreateCommonOptions {
  /** An engine loaded elsewhere (tests and the demo share one between nodes); the node will not close it. */
  engine?: InferenceEngine;
  /** Skip the HTTP API (tests of the pipeline alone). */
  http?: boolean;
  /** Test hooks, see PipelineOptions. */
  alterResponse?: PipelineOptions["alterResponse"];
  revealDelayMs?: PipelineOptions["revealDelayMs"];
}

/** How long a stopping node still waits for receipts of transactions in flight. */
const RECEIPT_GRACE_ON_STOP_MS = 3_000;

/** A running validator node: every stage wired together, stoppable once. */
export interface OracleNode {
  common: Common;
  deployment: Deployment;
  engine: InferenceEngine;
  journal: Journal;
  listener: Listener;
  pipeline: Pipeline;
  /** Validator addresses this node serves (checksummed). */
  validators: string[];
  submitters: Map<string, Submitter>;
  /** The HTTP API's base URL, when it runs. */
  url?: string;
  ready(): boolean;
  stop(reason?: string): Promise<void>;
}

/** True when `modelDir` is the project's default tiny model, which the node may build itself when missing. */
export function isDefaultTinyModel(modelDir: string): boolean {
  return path.resolve(modelDir) === path.resolve(DEFAULT_TINY_MODEL_DIR);
}

/**
 * Builds and starts a node: config → common services → engine → journal → listener + seat finder + pipeline (+ timeout
 * sweeper) → HTTP API with the batch anchorer. Everything registers its clean-up with `common.shutdown`.
 */
export async function startOracleNode(config: OracleConfig, options: OracleNodeOptions = {}): Promise<OracleNode> {
  const keys = await resolveValidatorKeys(config);
  const apiKeys = config.apiKeysFile ? loadApiKeysFile(config.apiKeysFile) : undefined;
  const anchorKey = readAnchorKey(config);
  const deployment = loadDeployment(config.deployments);
  const common = createCommon(config, options);
  const { logger, metrics, shutdown, db } = common;
  try {
    const provider = createProvider(config.rpcUrl, deployment.chainId);
    shutdown.add("provider", () => provider.destroy());
    // Filled in when the token answers; until then amounts in errors read "… tokens".
    const stakeUnits: TokenUnits = { ...UNKNOWN_TOKEN };
    void readTokenUnits(provider, deployment.token?.address).then((units) => Object.assign(stakeUnits, units));
    // Before the model loads, so that --strict-startup refuses at once.
    await runStartupChecks(logger, config.strictStartup, {
      provider,
      validatorRegistry: deployment.validatorRegistry,
      validators: keys.map((key) => new Wallet(key).address),
      publicUrl: config.publicUrl,
      stakeUnits,
    });

    let engine = options.engine;
    if (!engine) {
      if (isDefaultTinyModel(config.modelDir)) await ensureTinyModel(path.resolve(config.modelDir));
      engine = await loadEngine({ modelDir: config.modelDir, providers: config.providers, threads: config.threads || undefined, logger });
      const owned = engine;
      shutdown.add("engine", () => owned.close());
    }

    engine = instrumentEngine(engine, metrics);
    const inferenceEngine = engine;
    const unwatch = engine.onDeadlineMissed?.((deadlineMs) => {
      metrics.inferenceDeadlinesMissedTotal.inc();
      logger.error({ deadlineMs, provider: inferenceEngine.provider }, "inference run missed its deadline; worker replaced");
    });
    if (unwatch) shutdown.add("inference watchdog", unwatch);

    const heads = createHeadTracker(common, provider);
    shutdown.add("head tracker", () => heads.stop());
    heads.start();
    const journal = instrumentJournal(createJournal(db), metrics);
    const refreshJobGauges = jobGaugeRefresher(db, journal, metrics);
    metrics.beforeScrape.add(refreshJobGauges);
    shutdown.add("job gauges", () => void metrics.beforeScrape.delete(refreshJobGauges));
    const contentStore = createContentStore(db);
    // Kept for the API's views (and pruned by them): without the API nobody reads or bounds it.
    const eventLog = options.http !== false ? createChainEventLog(db) : undefined;
    const retention = createContentRetention(common, contentStore);
    shutdown.add("content retention", () => retention.stop());
    retention.start();
    const errorInterfaces = [deployment.chatRecordRegistry.iface, deployment.validatorRegistry.iface];

    const submitters = new Map<string, Submitter>();
    /** Every key's sender, for the `key_exclusive` readiness condition. */
    const senders: (Submitter & SubmitterHealth)[] = [];
    for (const key of keys) {
      const submitter = createSubmitter(common, provider, heads, new Wallet(key), { errorInterfaces, stakeUnits });
      submitters.set(submitter.address.toLowerCase(), submitter);
      senders.push(submitter);
    }
    const validators = [...submitters.values()].map((s) => s.address);
    const registry = createChatRegistryClient(deployment.chatRecordRegistry, provider, metrics);

    const pipeline = createPipeline(common, {
      journal,
      engine,
      registry,
      heads,
      submitters,
      contentStore,
      threads: createThreadReader({
        registry,
        chatRecordRegistry: deployment.chatRecordRegistry,
        provider,
        startBlock: deployment.startBlock,
        contentStore,
        blockRange: config.blockRange,
      }),
      alterResponse: options.alterResponse,
      revealDelayMs: options.revealDelayMs,
    });
    shutdown.add("pipeline", () => pipeline.stop(), "intake");
    // Runs before the pipeline's stop (intake handlers run last-added first): a job waiting for a receipt that does not
    // come (the chain stopped, or no block is mined) would hold the stop for the whole receipt timeout. Its transaction
    // hash is journaled, so after a short grace the wait is released and the next start reconciles it.
    shutdown.add("receipt waits", () => void setTimeout(() => void heads.stop(), RECEIPT_GRACE_ON_STOP_MS).unref(), "intake");
    const firstSubmitter = submitters.values().next().value as Submitter;
    const seats = createSeatFinder(common, {
      journal,
      registry,
      validators,
      onSeated: () => pipeline.wake(),
      headNumber: async () => (await heads.current()).number,
      renewSeed: async (id) => {
        await firstSubmitter.send({ kind: "draw", to: registry.address, data: registry.encodeDraw(id) }, { revertExpected: true });
      },
    });
    shutdown.add("seat finder", () => seats.stop(), "intake");
    const listener = createListener(common, {
      provider,
      journal,
      // The validator registry's events (stakes) only feed the API's index; the job pipeline reads the chat registry's.
      contracts: eventLog ? [deployment.chatRecordRegistry, deployment.validatorRegistry] : [deployment.chatRecordRegistry],
      startBlock: deployment.startBlock,
      apply: createEventApplier({
        journal,
        validators,
        contentStore,
        eventLog,
        logger,
        metrics,
        onAttempt: (id, block, attempt) => seats.track(id, block, attempt),
      }),
      rollback: (ancestor) => void eventLog?.dropAbove(ancestor),
      onStep: () => {
        seats.wake();
        pipeline.wake();
      },
      heads,
    });
    shutdown.add("listener", () => listener.stop(), "intake");
    if (config.timeoutSweeper) {
      const sweeper = createTimeoutSweeper(common, { journal, registry, submitter: firstSubmitter });
      shutdown.add("timeout sweeper", () => sweeper.stop(), "intake");
      sweeper.start();
    }
    listener.start();
    seats.start();
    pipeline.start();

    // Anchors are optional spending: a separate key if given (reusing its submitter when it is also a validator's).
    const anchorAddress = anchorKey ? new Wallet(anchorKey).address.toLowerCase() : undefined;
    let anchorSubmitter = anchorAddress ? submitters.get(anchorAddress) : firstSubmitter;
    if (!anchorSubmitter) {
      const own = createSubmitter(common, provider, heads, new Wallet(anchorKey as string), { errorInterfaces, stakeUnits });
      senders.push(own);
      anchorSubmitter = own;
    }
    const wallets = createWalletMonitor(common, {
      provider,
      addresses: [...validators, anchorSubmitter.address],
      reserveWei: config.walletReserveEth,
      intervalMs: Math.max(5_000, config.pollIntervalMs),
    });
    shutdown.add("wallets", () => wallets.stop());
    wallets.start();

    const ready = () => listener.caughtUp() && !shutdown.isShuttingDown;
    const readiness = () => {
      const low = wallets.belowReserve();
      const inference: { ok: boolean; message?: string } = inferenceEngine.health?.() ?? { ok: true };
      const chainConditions = chainReadiness({
        now: Date.now(),
        lastHeadAt: heads.lastAnswerAt(),
        headNumber: heads.latest()?.number,
        processedBlock: journal.processedBlock() ?? deployment.startBlock - 1,
        confirmations: config.confirmations,
        maxHeadAgeMs: config.maxHeadAgeMs,
        maxListenerLagBlocks: config.maxListenerLagBlocks,
      });
      const shared = senders.map((sender) => sender.health()).filter((h) => !h.ok);
      return [
        ...chainConditions,
        { name: "key_exclusive", ok: shared.length === 0, ...(shared.length > 0 ? { message: shared.map((h) => h.message).join("; ") } : {}) },
        { name: "inference", ok: inference.ok, ...(inference.message ? { message: inference.message } : {}) },
        {
          name: "wallet_reserve",
          ok: low.length === 0,
          ...(low.length > 0 ? { message: `${low.join(", ")} below the reserve of ${formatEther(config.walletReserveEth)} ETH` } : {}),
        },
      ];
    };
    let url: string | undefined;
    if (eventLog) {
      const chain = createChainViews({
        deployment,
        provider,
        events: eventLog,
        retention: { maxEvents: config.apiIndexMaxEvents, maxAgeBlocks: config.apiIndexMaxAgeBlocks },
        processedBlock: () => journal.processedBlock(),
        logger,
        metrics,
        pollIntervalMs: config.pollIntervalMs,
      });
      shutdown.add("chain views", () => chain.close());
      const anchoredBatchId = (txHash: string, logs: readonly { topics: readonly string[]; data: string }[]): bigint => {
        for (const log of logs) {
          const parsed = deployment.chatRecordRegistry.iface.parseLog(log);
          if (parsed?.name === "BatchAnchored") return parsed.args.batchId as bigint;
        }
        throw new Error(`anchor transaction ${txHash} emitted no BatchAnchored event`);
      };
      const anchorer = createBatchAnchorer(common, {
        validator: anchorSubmitter.address,
        checkFunds: () => wallets.refuseSpend(anchorSubmitter.address, ANCHOR_GAS_LIMIT),
        sendAnchor: async (root, count, modelId, hooks) => {
          const intent = { kind: "anchor" as const, to: registry.address, data: registry.encodeAnchor(root, count, modelId) };
          const mined = await anchorSubmitter.send(intent, { beforeBroadcast: hooks?.beforeBroadcast });
          return { txHash: mined.hash, batchId: anchoredBatchId(mined.hash, mined.receipt.logs) };
        },
        lookupAnchor: async (txHash) => {
          const seen = await anchorSubmitter.lookup(txHash);
          if (seen.status === "mined") return { status: "anchored", batchId: anchoredBatchId(txHash, seen.tx.receipt.logs) };
          if (seen.status === "pending") return { status: "pending" };
          return { status: "failed", reason: seen.status === "reverted" ? `reverted in block ${seen.blockNumber}` : "unknown to the RPC (dropped)" };
        },
      });
      shutdown.add("batch anchorer", () => anchorer.stop());
      anchorer.start();
      const server = createHttpServer(common, {
        engine,
        chain,
        isReady: ready,
        readiness,
        anchorer,
        contentStore,
        apiKeys,
        pause: { pause: pipeline.pause, resume: pipeline.resume, isPaused: pipeline.isPaused },
        mount: (app) => app.use(createPageRouter()),
      });
      const running: RunningHttpServer = await server.listen();
      shutdown.add("http", () => running.close());
      url = running.url;
    }
    logger.info({ validators, url, modelHash: engine.modelHash, rpcUrl: redactUrl(config.rpcUrl) }, "oracle node started");
    return {
      common,
      deployment,
      engine,
      journal,
      listener,
      pipeline,
      validators,
      submitters,
      url,
      ready: () => ready() && readiness().every((c) => c.ok),
      stop: (reason = "stop") => shutdown.run(reason),
    };
  } catch (error) {
    await shutdown.run("start-up failed");
    throw error;
  }
}
