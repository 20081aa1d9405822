/**
 * The streaming phase of `npm run bench:e2e`: chat completions streamed over Server-Sent Events (POST
 * /v1/chat/completions with `stream: true`) by the official `openai` client, one at a time, against the running node:
 * time to the first token, tokens per second as the client receives them, and what rendering a chat template costs
 * next to one completion.
 */
import fs from "node:fs";
import path from "node:path";
import OpenAI from "openai";
import { createChatRenderer, type ChatMessage } from "../oracle/src/inference/chatTemplate";
import { DEFAULT_TRAINED_MODEL_DIR } from "../oracle/src/inference/buildModel";

/** Tokens per streamed completion: the completion the template overhead is set against. */
export const STREAM_MAX_TOKENS = 32;

/** One streamed completion as the client saw it (milliseconds from sending the request). */
export interface StreamSample {
  firstTokenMs: number;
  lastTokenMs: number;
  completionTokens: number;
}

export interface StreamingResult {
  requests: number;
  /** Request sent → first content delta received. */
  ttftMsP50: number;
  ttftMsP95: number;
  /** Tokens after the first over the time from the first to the last delta, all requests together: the decode rate a client sees. */
  tokensPerSecond: number;
  /** Request sent → last delta, median: one whole completion of `maxTokens`. */
  completionMsP50: number;
  meanCompletionTokens: number;
  maxTokens: number;
  /** Mean wall time of one render, per template. */
  templateRenderMs: Record<string, number>;
  /** The slowest template's render time as a percentage of the median completion. */
  templateOverheadPct: number;
}

const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

/** The phase's figures from its samples and the measured template render times. */
export function summarizeStreams(samples: readonly StreamSample[], templateRenderMs: Record<string, number>, maxTokens = STREAM_MAX_TOKENS): StreamingResult {
  const decodeTokens = samples.reduce((sum, s) => sum + Math.max(0, s.completionTokens - 1), 0);
  const decodeMs = samples.reduce((sum, s) => sum + (s.lastTokenMs - s.firstTokenMs), 0);
  const completionMsP50 = percentile(samples.map((s) => s.lastTokenMs), 50);
  const slowestRender = Math.max(...Object.values(templateRenderMs));
  return {
    requests: samples.length,
    ttftMsP50: percentile(samples.map((s) => s.firstTokenMs), 50),
    ttftMsP95: percentile(samples.map((s) => s.firstTokenMs), 95),
    tokensPerSecond: decodeMs > 0 ? decodeTokens / (decodeMs / 1000) : NaN,
    completionMsP50,
    meanCompletionTokens: samples.reduce((sum, s) => sum + s.completionTokens, 0) / Math.max(1, samples.length),
    maxTokens,
    templateRenderMs,
    templateOverheadPct: (slowestRender / completionMsP50) * 100,
  };
}

/** Streams one completion and times its deltas as they arrive. */
export async function streamOnce(client: OpenAI, model: string, prompt: string, maxTokens = STREAM_MAX_TOKENS): Promise<StreamSample> {
  const sent = performance.now();
  let firstTokenMs: number | undefined;
  let lastTokenMs = 0;
  let completionTokens: number | undefined;
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: "user", content: prompt }],
    max_tokens: maxTokens,
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta?.content) {
      lastTokenMs = performance.now() - sent;
      firstTokenMs ??= lastTokenMs;
    }
    if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
  }
  if (firstTokenMs === undefined || completionTokens === undefined) throw new Error(`the stream for "${prompt}" ended without a token or without usage`);
  return { firstTokenMs, lastTokenMs, completionTokens };
}

/**
 * A ChatML template (the layout of Qwen's and many fine-tunes' templates), with a system turn: a larger template than
 * the demo model's, so the overhead is not measured on the smallest case only.
 */
const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const CONVERSATION: ChatMessage[] = [
  { role: "system", content: "You answer in one short sentence." },
  { role: "user", content: "What is an oracle?" },
  { role: "assistant", content: "An oracle answers questions for a blockchain." },
  { role: "user", content: "What is a dog?" },
];

/** Mean milliseconds per render of a four-message conversation, after a warm-up, for each template. */
export function measureTemplateRender(iterations = 2_000, trainedModelDir = DEFAULT_TRAINED_MODEL_DIR): Record<string, number> {
  const trainedConfig = JSON.parse(fs.readFileSync(path.join(trainedModelDir, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
  const renderers = {
    "models/trained": createChatRenderer(trainedConfig),
    chatml: createChatRenderer({ chat_template: CHATML_TEMPLATE, eos_token: "<|im_end|>" }),
  };
  const result: Record<string, number> = {};
  for (const [name, renderer] of Object.entries(renderers)) {
    if (renderer.kind !== "template") throw new Error(`${name} has no chat template to measure`);
    for (let i = 0; i < 50; i++) renderer.render(CONVERSATION);
    const started = performance.now();
    for (let i = 0; i < iterations; i++) renderer.render(CONVERSATION);
    result[name] = (performance.now() - started) / iterations;
  }
  return result;
}

/** Runs `requests` streamed completions one after another against the node at `url` and sums them up. */
export async function runStreamingPhase(options: { url: string; apiKey: string; requests: number; maxTokens?: number }): Promise<StreamingResult> {
  const client = new OpenAI({ apiKey: options.apiKey, baseURL: `${options.url}/v1`, maxRetries: 0 });
  const model = (await client.models.list()).data[0]?.id;
  if (!model) throw new Error(`the node at ${options.url} serves no model`);
  const samples: StreamSample[] = [];
  for (let i = 0; i < options.requests; i++) samples.push(await streamOnce(client, model, `Stream request ${i}: what is a validator?`, options.maxTokens));
  return summarizeStreams(samples, measureTemplateRender(), options.maxTokens);
}
