import type { Request } from "express";
import { ZeroAddress } from "ethers";
import { NonRetryableError, type GenerateResult, type InferenceEngine } from "../inference";
import type { ChatRecord } from "../store/batchStore";
import { HttpError } from "./errors";
import { createInferenceAdmission } from "./inferenceQueue";
import { chargeTokens, createTokenBucketLimiter } from "./rateLimit";
import type { ApiContext } from "./server";

/** The engine a call runs on and its on-chain model id. */
export interface ServedModel {
  engine: InferenceEngine;
  modelId: number;
}

export interface OffchainGeneration {
  prompt: string;
  maxNewTokens: number;
  /** streaming: text deltas as tokens are decoded */
  onText?: (delta: string) => void;
}

/**
 * What POST /v1/chat and POST /v1/chat/completions share: the checks before inference (paused, model loading,
 * registered, records backlog), one admission bound and one token budget for both, the inference call, and the
 * record kept (and anchored) for each answer.
 */
export interface OffchainChat {
  /** The loaded engine and its model id; throws 503 while paused, loading, or when the model is not registered. */
  served(): Promise<ServedModel>;
  /** Rejects a model id the node does not serve with the reason: not registered, disabled, or another model. */
  checkRequestedModel(requested: number, served: number): Promise<void>;
  /** Admits, charges the caller's token budget and runs inference; 422 `inference_rejected` for a bad prompt. */
  generate(req: Request, engine: InferenceEngine, generation: OffchainGeneration): Promise<GenerateResult>;
  /** Stores the texts and the record, hands it to the anchorer, and announces it on the event stream. */
  record(served: ServedModel, prompt: string, maxNewTokens: number, result: GenerateResult): ChatRecord;
}

export function createOffchainChat(ctx: ApiContext): OffchainChat {
  const { config, metrics, logger } = ctx.common;
  const tokenBudget = createTokenBucketLimiter({ perMinute: config.rateLimitTokensPerMinute });
  const admission = createInferenceAdmission(config.maxQueuedChats);
  let cached: { modelHash: string; modelId: number } | undefined;

  /**
   * The on-chain model id of the loaded engine: the one given by main.ts, else the registered model with the
   * engine's hash (looked up once; a model id never changes its hash).
   */
  async function modelIdOf(modelHash: string): Promise<number> {
    if (ctx.deps.modelId !== undefined) return ctx.deps.modelId;
    if (cached?.modelHash === modelHash) return cached.modelId;
    const models = await ctx.deps.chain.getModels();
    const match = models.find((m) => m.modelHash.toLowerCase() === modelHash.toLowerCase());
    if (!match) throw new HttpError(503, "model_not_registered", `the loaded model ${modelHash} is not registered on-chain`);
    cached = { modelHash, modelId: match.modelId };
    return match.modelId;
  }

  return {
    async served() {
      if (ctx.deps.pause?.isPaused()) throw new HttpError(503, "paused", "the node is paused by its operator");
      const engine = ctx.deps.engine;
      if (!engine) throw new HttpError(503, "model_loading", "the model is still loading; retry shortly", { "Retry-After": "5" });
      return { engine, modelId: await modelIdOf(engine.modelHash) };
    },

    async checkRequestedModel(requested, served) {
      if (requested === served) return;
      const models = await ctx.deps.chain.getModels();
      const model = models.find((m) => m.modelId === requested);
      if (!model) throw new HttpError(404, "unknown_model", `no model ${requested} is registered`);
      if (!model.enabled) throw new HttpError(422, "model_disabled", `model ${requested} is disabled`);
      throw new HttpError(422, "model_not_served", `this node serves model ${served}, not ${requested}`);
    },

    async generate(req, engine, { prompt, maxNewTokens, onText }) {
      // Records wait for anchors (hourly budget, wallet reserve): past the bound new ones are refused, not piled up.
      if (ctx.deps.anchorer && ctx.batchStore.pendingCount() >= config.maxPendingRecords) {
        throw new HttpError(503, "records_backlog", `${config.maxPendingRecords} records already wait for an anchor; retry later`, { "Retry-After": "60" });
      }
      const leave = admission.enter();
      let result: GenerateResult;
      try {
        chargeTokens(tokenBudget, req, maxNewTokens);
        const timer = metrics.inferenceSeconds.startTimer();
        try {
          result = await engine.generate({ prompt, maxNewTokens, priority: "http", onText });
        } catch (error) {
          metrics.requestsTotal.inc({ status: "offchain_failed" });
          if (error instanceof NonRetryableError) throw new HttpError(422, "inference_rejected", error.message, {}, null, { cause: error });
          throw error;
        } finally {
          timer();
        }
      } finally {
        leave();
      }
      metrics.inferenceTokensPerSecond.set(result.tokensPerSecond);
      metrics.requestsTotal.inc({ status: "offchain" });
      return result;
    },

    record({ engine, modelId }, prompt, maxNewTokens, result) {
      const fields = {
        promptHash: ctx.contentStore.put(prompt),
        responseHash: ctx.contentStore.put(result.text),
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
      return record;
    },
  };
}
