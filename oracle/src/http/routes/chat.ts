import { Router } from "express";
import { DEFAULT_MAX_NEW_TOKENS } from "../../inference";
import { requireApiKey } from "../apiKeys";
import { strictJsonBody } from "../body";
import { createOffchainChat } from "../offchainChat";
import { chatBodySchema, parseOrThrow } from "../schemas";
import type { ApiContext } from "../server";
import { openAiRoutes } from "./openai";
import { recordView } from "./records";

/**
 * POST /v1/chat (one prompt string, the node's own shape) and the OpenAI-compatible routes: one admission bound and
 * one token budget serve both.
 */
export function chatRoutes(ctx: ApiContext): Router {
  const router = Router();
  const { config } = ctx.common;
  const schema = chatBodySchema({ maxPromptChars: config.maxPromptChars, maxNewTokens: config.maxNewTokens });
  const offchain = createOffchainChat(ctx);

  // The key is checked before the body is read: an anonymous caller costs neither inference nor an anchor.
  router.post("/v1/chat", requireApiKey(ctx.deps.apiKeys), ...strictJsonBody(ctx.limits.maxBodyBytes), async (req, res) => {
    const body = parseOrThrow(schema, req.body);
    const served = await offchain.served();
    if (body.modelId !== undefined) await offchain.checkRequestedModel(body.modelId, served.modelId);
    const maxNewTokens = body.maxNewTokens ?? Math.min(DEFAULT_MAX_NEW_TOKENS, config.maxNewTokens);
    const result = await offchain.generate(req, served.engine, { prompt: body.prompt, maxNewTokens });
    const record = offchain.record(served, body.prompt, maxNewTokens, result);
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
  router.use(openAiRoutes(ctx, offchain));
  return router;
}
