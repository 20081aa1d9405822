import { Router } from "express";
import { ZeroAddress } from "ethers";
import { DEFAULT_MAX_NEW_TOKENS, NonRetryableError } from "../../inference";
import type { ChatRecord } from "../../store/batchStore";
import { requireApiKey } from "../apiKeys";
import { strictJsonBody } from "../body";
import { HttpError } from "../errors";
import { createInferenceAdmission } from "../inferenceQueue";
import { chargeTokens, createTokenBucketLimiter } from "../rateLimit";
import { chatBodySchema, parseOrThrow } from "../schemas";
import type { ApiContext } from "../server";
import { recordView } from "./records";

/**
 * The on-chain model id of the loaded engine: the one given by main.ts, else the registered model with the engine's
 * hash (looked up once; a model id never changes its hash).
 */
function createModelResolver(ctx: ApiContext) {
  let cached: { modelHash: string; modelId: number } | undefined;
  return async (modelHash: string): Promise<number> => {
    if (ctx.deps.modelId !== undefined) return ctx.deps.modelId;
    if (cached?.modelHash === modelHash) return cached.modelId;
    const models = await ctx.deps.chain.getModels();
    const match = models.find((m) => m.modelHash.toLowerCase() === modelHash.toLowerCase());
    if (!match) throw new HttpError(503, "model_not_registered", `the loaded model ${modelHash} is not registered on-chain`);
    cached = { modelHash, modelId: match.modelId };
    return match.modelId;
  };
}

export function chatRoutes(ctx: ApiContext): Router {
  const router = Router();
  const { config, metrics, logger } = ctx.common;
  const schema = chatBodySchema({ maxPromptChars: config.maxPromptChars, maxNewTokens: config.maxNewTokens });
  const servedModelId = createModelResolver(ctx);
  const tokenBudget = createTokenBucketLimiter({ perMinute: config.rateLimitTokensPerMinute });
  const admission = createInferenceAdmission(config.maxQueuedChats);

  /** Rejects a model id the node does not serve with the reason: not registered, disabled, or another model. */
  async function checkRequestedModel(requested: number, served: number) {
    if (requested === served) return;
    const models = await ctx.deps.chain.getModels();
    const model = models.find((m) => m.modelId === requested);
    if (!model) throw new HttpError(404, "unknown_model", `no model ${requested} is registered`);
    if (!model.enabled) throw new HttpError(422, "model_disabled", `model ${requested} is disabled`);
    throw new HttpError(422, "model_not_served", `this node serves model ${served}, not ${requested}`);
  }

  // The key is checked before the body is read: an anonymous caller costs neither inference nor an anchor.
  router.post("/v1/chat", requireApiKey(ctx.deps.apiKeys), ...strictJsonBody(ctx.limits.maxBodyBytes), async (req, res) => {
    const body = parseOrThrow(schema, req.body);
    if (ctx.deps.pause?.isPaused()) throw new HttpError(503, "paused", "the node is paused by its operator");
    const engine = ctx.deps.engine;
    if (!engine) throw new HttpError(503, "model_loading", "the model is still loading; retry shortly", { "Retry-After": "5" });
    const modelId = await servedModelId(engine.modelHash);
    if (body.modelId !== undefined) await checkRequestedModel(body.modelId, modelId);

    // Records wait for anchors (hourly budget, wallet reserve): past the bound new ones are refused, not piled up.
    if (ctx.deps.anchorer && ctx.batchStore.pendingCount() >= config.maxPendingRecords) {
      throw new HttpError(503, "records_backlog", `${config.maxPendingRecords} records already wait for an anchor; retry later`, { "Retry-After": "60" });
    }
    const maxNewTokens = body.maxNewTokens ?? Math.min(DEFAULT_MAX_NEW_TOKENS, config.maxNewTokens);
    const leave = admission.enter();
    let result;
    try {
      chargeTokens(tokenBudget, req, maxNewTokens);
      const timer = metrics.inferenceSeconds.startTimer();
      try {
        result = await engine.generate({ prompt: body.prompt, maxNewTokens, priority: "http" });
      } catch (error) {
        metrics.requestsTotal.inc({ status: "offchain_failed" });
        if (error instanceof NonRetryableError) throw new HttpError(422, "inference_rejected", error.message);
        throw error;
      } finally {
        timer();
      }
    } finally {
      leave();
    }
    metrics.inferenceTokensPerSecond.set(result.tokensPerSecond);
    metrics.requestsTotal.inc({ status: "offchain" });

    const promptHash = ctx.contentStore.put(body.prompt);
    const responseHash = ctx.contentStore.put(result.text);
    const fields = {
      promptHash,
      responseHash,
      modelHash: engine.modelHash,
      modelId,
      maxNewTokens,
      finishReason: result.finishReason,
    };
    let record: ChatRecord;
    if (ctx.deps.anchorer) record = ctx.deps.anchorer.add(fields);
    else {
      // Without an anchorer (no validator key) the record is kept with the zero address and never batched.
      const stored = ctx.batchStore.addRecord({ ...fields, validator: ZeroAddress });
      if (stored.created) metrics.recordsTotal.inc();
      record = stored.record;
    }
    logger.debug({ recordHash: record.leaf, modelId, tokens: result.tokenIds.length }, "served off-chain chat");
    ctx.events.publish({ type: "record", data: { recordHash: record.leaf, modelId, createdAt: record.createdAt } });
    res.status(201).json({
      ...(await recordView(ctx, record, { checkOnChain: false })),
      generation: {
        promptTokens: result.promptTokenIds.length,
        generatedTokens: result.tokenIds.length,
        finishReason: result.finishReason,
        tokensPerSecond: Math.round(result.tokensPerSecond * 10) / 10,
      },
    });
  });
  return router;
}
