import { Router } from "express";
import { BATCH_OUTCOMES, readMetricByLabel, readMetricValue } from "../../metrics";
import type { ApiContext } from "../server";
import { openAiModel } from "./openai";

/** Sum and count of a histogram without labels, read from prom-client. */
async function histogramTotals(metric: { get(): Promise<{ values: { value: number; metricName?: string }[] }> }) {
  const { values } = await metric.get();
  const pick = (suffix: string) => values.filter((v) => v.metricName?.endsWith(suffix)).reduce((s, v) => s + v.value, 0);
  return { sum: pick("_sum"), count: pick("_count") };
}

function zeroOutcomes(): Record<(typeof BATCH_OUTCOMES)[number], number> {
  return Object.fromEntries(BATCH_OUTCOMES.map((outcome) => [outcome, 0])) as Record<(typeof BATCH_OUTCOMES)[number], number>;
}

/** GET /v1/validators, /v1/models, /v1/node: the network and this node at a glance. */
export function networkRoutes(ctx: ApiContext): Router {
  const router = Router();
  const { metrics } = ctx.common;

  router.get("/v1/validators", async (_req, res) => {
    res.json(await ctx.deps.chain.getNetwork());
  });

  router.get("/v1/models", async (_req, res) => {
    const engine = ctx.deps.engine;
    const models = (await ctx.deps.chain.getModels()).map((m) => ({
      ...m,
      servedByThisNode: engine !== undefined && m.modelHash.toLowerCase() === engine.modelHash.toLowerCase(),
    }));
    // `object` and `data` are the OpenAI list shape (the SDKs' models.list()): the models this node serves.
    res.json({ object: "list", data: models.filter((m) => m.servedByThisNode).map(openAiModel), models });
  });

  router.get("/v1/node", async (_req, res) => {
    const engine = ctx.deps.engine;
    const [rpc, inference, lastTokensPerSecond, journal, head, processed, rpcErrors, unhandled, batches, txFailures, txRetries] =
      await Promise.all([
        ctx.deps.chain.health(),
        histogramTotals(metrics.inferenceSeconds),
        readMetricValue(metrics.inferenceTokensPerSecond),
        readMetricByLabel(metrics.journalDepth, "state"),
        readMetricValue(metrics.chainHeadBlock),
        readMetricValue(metrics.processedBlock),
        readMetricValue(metrics.rpcErrorsTotal),
        readMetricValue(metrics.unhandledErrorsTotal),
        readMetricByLabel(metrics.batchesTotal, "outcome"),
        readMetricValue(metrics.txFailuresTotal),
        readMetricValue(metrics.txRetriesTotal),
      ]);
    const models = engine && rpc.ok ? await ctx.deps.chain.getModels().catch(() => []) : [];
    const headBlock = rpc.headBlock ?? (head || null);
    res.json({
      ready: ctx.deps.isReady(),
      paused: ctx.deps.pause?.isPaused() ?? false,
      uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
      chainId: ctx.deps.chain.chainId,
      contracts: ctx.deps.chain.addresses,
      validator: ctx.deps.anchorer?.validator ?? null,
      model: engine
        ? {
            loaded: true,
            id: ctx.deps.modelId ?? models.find((m) => m.modelHash.toLowerCase() === engine.modelHash.toLowerCase())?.modelId ?? null,
            hash: engine.modelHash,
            provider: engine.provider,
            maxContext: engine.maxContext,
          }
        : { loaded: false, id: null, hash: null, provider: null, maxContext: null },
      inference: {
        count: inference.count,
        meanSeconds: inference.count > 0 ? inference.sum / inference.count : null,
        lastTokensPerSecond,
      },
      journal: { depth: journal, total: Object.values(journal).reduce((a, b) => a + b, 0) },
      chain: {
        rpc,
        headBlock,
        processedBlock: processed || null,
        lagBlocks: headBlock !== null && processed ? Math.max(0, headBlock - processed) : null,
        rpcErrors,
        txFailures,
        txRetries,
      },
      // Every outcome, zeros included: a dashboard reads `batches.failed` whether or not an anchor failed yet.
      records: { pendingBatch: ctx.batchStore.pendingCount(), batches: { ...zeroOutcomes(), ...batches } },
      http: { unhandledErrors: unhandled },
    });
  });
  return router;
}
