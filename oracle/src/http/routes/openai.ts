import { randomBytes } from "node:crypto";
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import { CHAT_ROLES, DEFAULT_MAX_NEW_TOKENS, renderPlainChat, NonRetryableError, type ChatMessage, type GenerateResult } from "../../inference";
import type { ChatRecord } from "../../store/batchStore";
import { requireApiKey } from "../apiKeys";
import { strictJsonBody } from "../body";
import { HttpError } from "../errors";
import type { OffchainChat, ServedModel } from "../offchainChat";
import type { ApiContext } from "../server";
import { recordView } from "./records";
import { RequestStatus, STATUS_NAMES } from "../../chain/chatRegistry";
import { threadHistory, threadRecordHash } from "../../chain/threads";
import { LONE_SURROGATE } from "../../chain/keccak";

/** OpenAI's name for the model a node serves: `model-<on-chain model id>`. */
export const openAiModelName = (modelId: number) => `model-${modelId}`;

/** A registered model in OpenAI's model shape (what `GET /v1/models` lists under `data`). */
export function openAiModel(m: { modelId: number; modelHash: string; registered?: { timestamp?: number | null } | null }) {
  return {
    id: openAiModelName(m.modelId),
    object: "model" as const,
    created: m.registered?.timestamp ?? 0,
    owned_by: "chat-oracle",
    chat_oracle: { model_id: m.modelId, model_hash: m.modelHash },
  };
}

const textPart = z.object({ type: z.literal("text"), text: z.string() }).strict();

function completionSchema(maxNewTokens: number) {
  return z
    .object({
      model: z.string().min(1, "must not be empty"),
      messages: z
        .array(
          z
            .object({
              role: z.enum(CHAT_ROLES, { message: `must be one of ${CHAT_ROLES.join(", ")}` }),
              // A string, or text parts (what the SDKs send for multi-part content), joined as one text.
              content: z.union([z.string(), z.array(textPart)], { message: "must be a string or an array of text parts" }),
            })
            .strict(),
        )
        .min(1, "must hold at least one message"),
      max_tokens: z.number().int("must be an integer").min(1).max(maxNewTokens, `must be at most ${maxNewTokens}`).nullish(),
      max_completion_tokens: z.number().int("must be an integer").min(1).max(maxNewTokens, `must be at most ${maxNewTokens}`).nullish(),
      // Decoding is greedy so that every validator (and `npm run verify`) reproduces the answer: only the settings
      // that mean greedy are accepted.
      temperature: z.literal(0, { message: "must be 0: answers are decoded greedily so that they can be verified" }).nullish(),
      top_p: z.literal(1, { message: "must be 1: answers are decoded greedily so that they can be verified" }).nullish(),
      seed: z.number().int("must be an integer").nullish(),
      stop: z
        .union([z.string(), z.array(z.string())])
        .nullish()
        .refine((s) => s === null || s === undefined || s.length === 0, "is not supported: a truncated answer would not match the one verification reproduces"),
      stream: z.boolean().nullish(),
      stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullish(),
      n: z.literal(1, { message: "must be 1: one answer per request" }).nullish(),
      // Extension: continue an on-chain conversation thread (see docs/api.md).
      chat_oracle: z
        .object({ parent_request_id: z.union([z.string().regex(/^[1-9][0-9]{0,9}$/, "must be a request id"), z.number().int().positive()]) })
        .strict()
        .nullish(),
    })
    .strict();
}

type CompletionBody = z.infer<ReturnType<typeof completionSchema>>;

/** Parses the body or throws 400 in the OpenAI error shape, naming the field (`param`). */
function parseCompletion(schema: ReturnType<typeof completionSchema>, value: unknown): CompletionBody {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue.code === "unrecognized_keys") {
    const where = issue.path.join(".");
    throw new HttpError(400, "unsupported_parameter", `unsupported field(s)${where ? ` in ${where}` : ""}: ${issue.keys.join(", ")}`, {}, issue.keys[0]);
  }
  const param = issue.path.length > 0 ? issue.path.join(".") : null;
  throw new HttpError(400, "invalid_request", `${param ?? "body"} ${issue.message}`, {}, param);
}

const messageText = (content: string | { text: string }[]) => (typeof content === "string" ? content : content.map((p) => p.text).join(""));

/** The receipt: what a caller needs to check the answer against the chain (see docs/api.md). */
async function receipt(ctx: ApiContext, record: ChatRecord, rendering: "template" | "plain") {
  const view = await recordView(ctx, record, { checkOnChain: false });
  return {
    record_hash: view.recordHash,
    model_id: view.model.id,
    model_hash: view.model.hash,
    prompt_hash: record.promptHash,
    response_hash: record.responseHash,
    validator: view.validator,
    max_new_tokens: record.maxNewTokens,
    finish_reason: record.finishReason,
    rendering,
    batch: view.batch,
    verify_url: `/v1/records/${view.recordHash}`,
  };
}

const finishReason = (result: GenerateResult) => (result.finishReason === "eos" ? "stop" : "length");
const usage = (result: GenerateResult) => ({
  prompt_tokens: result.promptTokenIds.length,
  completion_tokens: result.tokenIds.length,
  total_tokens: result.promptTokenIds.length + result.tokenIds.length,
});

/**
 * The OpenAI-compatible API: POST /v1/chat/completions (JSON or Server-Sent Events) and GET /v1/models, so the
 * official SDKs work with only their base URL changed. Each answer is an off-chain record like POST /v1/chat's,
 * and carries its receipt in the `chat_oracle` extension field.
 */
export function openAiRoutes(ctx: ApiContext, offchain: OffchainChat): Router {
  const router = Router();
  const { config, logger } = ctx.common;
  const schema = completionSchema(config.maxNewTokens);

  // GET /v1/models itself is networkRoutes' (public): its `data` lists the served model in this shape.
  router.get("/v1/models/:model", async (req, res) => {
    const { modelId } = await offchain.served();
    const model = (await ctx.deps.chain.getModels()).find((m) => m.modelId === modelId);
    if (!model || req.params.model !== openAiModelName(modelId)) {
      throw new HttpError(404, "model_not_found", `this node serves ${openAiModelName(modelId)}, not ${req.params.model.slice(0, 80)}`, {}, "model");
    }
    res.json(openAiModel(model));
  });

  router.post("/v1/chat/completions", requireApiKey(ctx.deps.apiKeys), ...strictJsonBody(ctx.limits.maxBodyBytes), async (req, res) => {
    const body = parseCompletion(schema, req.body);
    const served = await offchain.served();
    const requested = /^model-(\d{1,5})$/.exec(body.model)?.[1];
    if (requested === undefined) {
      throw new HttpError(404, "model_not_found", `unknown model ${body.model.slice(0, 80)}; this node serves ${openAiModelName(served.modelId)} (GET /v1/models)`, {}, "model");
    }
    await offchain.checkRequestedModel(Number(requested), served.modelId).catch((error: unknown) => {
      if (error instanceof HttpError) throw new HttpError(error.status, error.status === 404 ? "model_not_found" : error.code, error.message, {}, "model");
      throw error;
    });

    const thread = body.chat_oracle ? await parentThread(ctx, BigInt(body.chat_oracle.parent_request_id), served.modelId) : undefined;
    const messages: ChatMessage[] = [...(thread?.history ?? []), ...body.messages.map((m) => ({ role: m.role, content: messageText(m.content) }))];
    if (messages.some((m) => LONE_SURROGATE.test(m.content))) throw new HttpError(400, "invalid_request", "messages must be valid Unicode (no lone surrogates)", {}, "messages");
    const { prompt, rendering } = renderPrompt(served, messages);
    if (prompt.length > config.maxPromptChars) {
      throw new HttpError(400, "prompt_too_long", `the rendered conversation is ${prompt.length} characters, at most ${config.maxPromptChars} are accepted`, {}, "messages");
    }
    const promptTokens = served.engine.countPromptTokens(prompt);
    if (promptTokens === 0) throw new HttpError(400, "invalid_messages", "the conversation renders to an empty prompt (the model's template shows none of these messages)", {}, "messages");
    if (promptTokens >= served.engine.maxContext) {
      throw new HttpError(400, "context_length_exceeded", `the rendered conversation is ${promptTokens} tokens; the model's context is ${served.engine.maxContext} (prompt + at least one new token)`, {}, "messages");
    }
    const maxNewTokens = body.max_completion_tokens ?? body.max_tokens ?? Math.min(DEFAULT_MAX_NEW_TOKENS, config.maxNewTokens);
    const completion = { id: `chatcmpl-${randomBytes(12).toString("hex")}`, created: Math.floor(Date.now() / 1000), model: openAiModelName(served.modelId) };

    if (!body.stream) {
      const result = await offchain.generate(req, served.engine, { prompt, maxNewTokens });
      const record = offchain.record(served, prompt, maxNewTokens, result);
      res.json({
        ...completion,
        object: "chat.completion",
        system_fingerprint: served.engine.modelHash,
        choices: [{ index: 0, message: { role: "assistant", content: result.text, refusal: null }, logprobs: null, finish_reason: finishReason(result) }],
        usage: usage(result),
        chat_oracle: { ...(await receipt(ctx, record, rendering)), ...thread?.receipt },
      });
      return;
    }
    await streamCompletion(req, res, { prompt, maxNewTokens, served, rendering, completion, includeUsage: body.stream_options?.include_usage === true, threadReceipt: thread?.receipt });
  });

  /**
   * Server-Sent Events in OpenAI's chunk format: a first chunk with the role, one per decoded text delta, a last one
   * with the finish reason and the receipt, then `data: [DONE]`. A client that goes away stops the stream; its
   * answer is not recorded (nobody holds it, and an anchor costs gas).
   */
  async function streamCompletion(
    req: Request,
    res: Response,
    o: { prompt: string; maxNewTokens: number; served: ServedModel; rendering: "template" | "plain"; completion: { id: string; created: number; model: string }; includeUsage: boolean; threadReceipt?: Record<string, string> },
  ) {
    let gone = false;
    res.on("close", () => {
      if (!res.writableFinished) gone = true;
    });
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ ...o.completion, object: "chat.completion.chunk", system_fingerprint: o.served.engine.modelHash, choices, ...extra })}\n\n`;
    const send = (text: string) => {
      if (!gone) res.write(text);
    };
    let streamed = "";
    const start = () => {
      if (res.headersSent) return;
      res.status(200).set({ "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache", "X-Accel-Buffering": "no" });
      res.flushHeaders();
      send(chunk([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]));
    };
    let result: GenerateResult;
    try {
      result = await offchain.generate(req, o.served.engine, {
        prompt: o.prompt,
        maxNewTokens: o.maxNewTokens,
        onText: (delta) => {
          start();
          streamed += delta;
          send(chunk([{ index: 0, delta: { content: delta }, logprobs: null, finish_reason: null }]));
        },
      });
    } catch (error) {
      if (!res.headersSent) throw error; // answered as a JSON error by the error handler
      logger.warn({ err: error }, "streamed chat completion failed");
      const failure = error instanceof HttpError ? error : new HttpError(500, "internal", "inference failed; see the node's log");
      send(`data: ${JSON.stringify({ error: { message: failure.message, type: "server_error", param: null, code: failure.code } })}\n\n`);
      if (!gone) res.end();
      return;
    }
    start();
    if (gone) {
      logger.debug({ tokens: result.tokenIds.length }, "chat completion client left; answer not recorded");
      return;
    }
    // The deltas add up to the answer; whatever the stream decoder held back (a non-special EOS, a split character
    // at the end) goes out now so the client's text is exactly the recorded one.
    const rest = result.text.startsWith(streamed) ? result.text.slice(streamed.length) : "";
    if (rest) send(chunk([{ index: 0, delta: { content: rest }, logprobs: null, finish_reason: null }]));
    const record = offchain.record(o.served, o.prompt, o.maxNewTokens, result);
    send(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason(result) }], { usage: usage(result), chat_oracle: { ...(await receipt(ctx, record, o.rendering)), ...o.threadReceipt } }));
    if (o.includeUsage) send(chunk([], { usage: usage(result) }));
    send("data: [DONE]\n\n");
    res.end();
  }

  return router;
}

/** The conversation as the model reads it: the engine's chat template, or the plain fallback for engines without one. */
function renderPrompt({ engine }: ServedModel, messages: ChatMessage[]): { prompt: string; rendering: "template" | "plain" } {
  try {
    if (engine.renderChat) {
      const prompt = engine.renderChat(messages);
      return { prompt, rendering: engine.chatRendering ?? "template" };
    }
    return { prompt: renderPlainChat(messages), rendering: "plain" };
  } catch (error) {
    if (error instanceof NonRetryableError) throw new HttpError(400, "invalid_messages", error.message, {}, "messages", { cause: error });
    throw error;
  }
}

/**
 * The finalized on-chain thread ending at `parentId` as chat messages to put before the request's own, and what the
 * receipt says about it. 404 unknown parent, 409 parent not finalized (or an earlier turn's text unavailable), 400 a
 * thread of another model than the one served.
 */
async function parentThread(ctx: ApiContext, parentId: bigint, servedModelId: number) {
  const param = "chat_oracle.parent_request_id";
  const thread = await ctx.deps.chain.getThread(parentId);
  if (!thread) throw new HttpError(404, "parent_not_found", `no request ${parentId} on-chain`, {}, param);
  const parent = thread.turns[thread.turns.length - 1];
  if (parent.status !== RequestStatus.Finalized) {
    throw new HttpError(409, "parent_not_finalized", `request ${parentId} is ${STATUS_NAMES[parent.status]}, not Finalized: only a finalized turn can be continued`, {}, param);
  }
  if (parent.modelId !== servedModelId) {
    throw new HttpError(400, "model_mismatch", `thread ${parentId} is answered by model-${parent.modelId}; this node serves ${openAiModelName(servedModelId)}`, {}, param);
  }
  let history: ChatMessage[];
  try {
    history = threadHistory(thread.turns);
  } catch (error) {
    throw new HttpError(409, "thread_text_unavailable", (error as Error).message, {}, param);
  }
  return {
    history,
    receipt: {
      parent_request_id: parentId.toString(),
      conversation_id: thread.turns[0].requestId.toString(),
      previous_record_hash: threadRecordHash(parent),
    },
  };
}

