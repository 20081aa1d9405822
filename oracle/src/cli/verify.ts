import fs from "node:fs";
import path from "node:path";
import { Command, CommanderError } from "commander";
import { Contract, type JsonRpcProvider, zeroPadValue, toBeHex } from "ethers";
import { RequestStatus, STATUS_NAMES, createChatRegistryClient, decodePrompt } from "../chain/chatRegistry";
import { type Deployment, loadDeployment } from "../chain/deployments";
import { createProvider } from "../chain/rpc";
import { createThreadReader, renderWith, verifyTurns } from "../chain/threads";
import { resolveRpcUrl } from "../config/rpcUrl";
import { DEFAULT_MODEL_DIR } from "../config";
import { type InferenceEngine, ensureTinyModel, loadEngine } from "../inference";
import { DEFAULT_TINY_MODEL_DIR } from "../inference/buildModel";
import { hashText } from "../store/contentStore";
import { recordLeaf } from "../store/recordLeaf";
import { NonRetryableError } from "../errors";

/** Where a text used by the verification came from. */
export type TextSource = "endpoint" | "chain_event";

export interface VerifyReport {
  match: boolean;
  kind: "request" | "record";
  /** On-chain request id (kind request) or the record hash / Merkle leaf (kind record). */
  id: string;
  prompt: string;
  promptSource: TextSource;
  maxNewTokens: number;
  promptHash: { expected: string; computed: string; ok: boolean };
  modelHash: { registered: string; local: string; ok: boolean };
  responseHash: { expected: string; computed: string; ok: boolean };
  /**
   * A conversation turn only: the earlier turns (request ids, root first) whose prompts and finalized responses were
   * rendered with the model's chat template into the text re-run here, and whether each link hash matched.
   */
  thread?: { earlierTurns: string[]; linksOk: boolean; modelPrompt: string };
  /** Off-chain records only: whether the anchored batch proves the leaf (null when not anchored yet). */
  anchored?: boolean | null;
  computedResponse: string;
  /** Why it does not match, one line each. */
  problems: string[];
}

/** A failure to even run the check (unknown request, not finalized, no text anywhere): exit code 2. */
export class VerifyInputError extends NonRetryableError {
  constructor(message: string) {
    super(message);
  }
}

export interface VerifyContext {
  provider: JsonRpcProvider;
  deployment: Deployment;
  engine: InferenceEngine;
  /** Node API base URLs to fetch texts and off-chain records from; validator endpoints on-chain are added. */
  endpoints?: readonly string[];
  fetchTimeoutMs?: number;
}

/**
 * Re-checks a chat record from public data: the prompt text must hash to the on-chain prompt hash, the local model's
 * hash must equal the registered one, and greedy re-inference with the recorded maxNewTokens must give the recorded
 * response hash.
 */
export async function verify(ctx: VerifyContext, idOrHash: string): Promise<VerifyReport> {
  if (/^\d+$/.test(idOrHash)) return verifyRequest(ctx, BigInt(idOrHash));
  if (/^0x[0-9a-fA-F]{64}$/.test(idOrHash)) {
    const hash = idOrHash.toLowerCase();
    const record = await fetchOffChainRecord(ctx, hash);
    if (record) return verifyOffChainRecord(ctx, hash, record);
    const requestId = await findRequestByResponseHash(ctx, hash);
    if (requestId !== undefined) return verifyRequest(ctx, requestId);
    throw new VerifyInputError(`no on-chain record with response hash ${hash} and no node serves a record ${hash}`);
  }
  throw new VerifyInputError(`"${idOrHash}" is neither a request id (decimal) nor a 32-byte 0x hash`);
}

async function verifyRequest(ctx: VerifyContext, requestId: bigint): Promise<VerifyReport> {
  const { provider, deployment, engine } = ctx;
  const registry = createChatRegistryClient(deployment.chatRecordRegistry, provider);
  const count = (await new Contract(deployment.chatRecordRegistry.address, deployment.chatRecordRegistry.iface, provider).requestCount()) as bigint;
  if (requestId < 1n || requestId > count) throw new VerifyInputError(`request ${requestId} does not exist (requests: 1..${count})`);
  const record = await registry.getRecord(requestId);
  if (record.status !== RequestStatus.Finalized) {
    throw new VerifyInputError(`request ${requestId} is ${STATUS_NAMES[record.status]}, not Finalized: nothing to verify yet`);
  }
  const requested = await findChatRequested(ctx, requestId);
  const endpoints = await endpointsOf(ctx, record.committee);
  const fromEndpoint = await fetchText(ctx, endpoints, record.promptHash);
  const prompt = fromEndpoint ?? requested.prompt;
  const thread = await threadOf(ctx, registry, requestId, prompt);
  const report = await finish(ctx, {
    kind: "request",
    id: requestId.toString(),
    prompt,
    promptSource: fromEndpoint !== undefined ? "endpoint" : "chain_event",
    maxNewTokens: requested.maxNewTokens,
    expectedPromptHash: record.promptHash,
    registeredModelHash: record.modelHash,
    expectedResponseHash: record.responseHash,
    engine,
    modelPrompt: thread?.modelPrompt,
  });
  if (thread) {
    report.thread = thread;
    if (!thread.linksOk) report.problems.push("a turn's previousRecordHash is not its parent's record hash recomputed from the chain");
    report.match = report.problems.length === 0;
  }
  return report;
}

/**
 * For a conversation turn (`requestChatFollowUp`): the earlier turns from the chain and the chat rendering of the thread
 * the committee generated from; undefined for a request that extends nothing.
 */
async function threadOf(
  ctx: VerifyContext,
  registry: ReturnType<typeof createChatRegistryClient>,
  requestId: bigint,
  prompt: string,
): Promise<VerifyReport["thread"]> {
  const link = await registry.getThread(requestId);
  if (link.parentId === 0n) return undefined;
  const reader = createThreadReader({
    registry,
    chatRecordRegistry: ctx.deployment.chatRecordRegistry,
    provider: ctx.provider,
    startBlock: ctx.deployment.startBlock,
  });
  const turns = await reader.thread(requestId);
  const earlier = turns.slice(0, -1);
  const missing = earlier.find((t) => t.prompt === null || t.response === null);
  if (missing) throw new VerifyInputError(`thread turn ${missing.requestId}: its texts are in no chain event (is the RPC an archive of this chain?)`);
  const checks = verifyTurns(turns);
  return {
    earlierTurns: earlier.map((t) => t.requestId.toString()),
    linksOk: checks.every((c) => c.link && c.prompt !== false && c.response !== false),
    modelPrompt: await reader.modelPrompt(requestId, prompt, renderWith(ctx.engine)),
  };
}

interface OffChainRecord {
  kind: "record";
  recordHash: string;
  model: { id: number; hash: string };
  validator: string;
  prompt: { hash: string; text: string | null };
  response: { hash: string; text: string | null };
  decoding: { maxNewTokens: number };
  batch: { status: string; batchId?: string | null; proof?: string[] };
}

async function verifyOffChainRecord(ctx: VerifyContext, hash: string, record: OffChainRecord): Promise<VerifyReport> {
  const registry = createChatRegistryClient(ctx.deployment.chatRecordRegistry, ctx.provider);
  const registered = await registry.getModel(record.model.id);
  if (record.prompt.text === null) throw new VerifyInputError(`record ${hash}: the node does not serve its prompt text`);
  const leaf = recordLeaf({
    promptHash: record.prompt.hash,
    responseHash: record.response.hash,
    modelHash: registered.modelHash,
    validator: record.validator,
  }).toLowerCase();
  let anchored: boolean | null = null;
  if (record.batch.status === "anchored" && record.batch.batchId != null && record.batch.proof) {
    const chat = new Contract(ctx.deployment.chatRecordRegistry.address, ctx.deployment.chatRecordRegistry.iface, ctx.provider);
    // The contract computes the leaf from the record's fields, so only a real record (never an inner node) verifies.
    anchored = (await chat.verifyRecord(
      BigInt(record.batch.batchId),
      record.prompt.hash,
      record.response.hash,
      registered.modelHash,
      record.validator,
      record.batch.proof,
    )) as boolean;
  }
  const report = await finish(ctx, {
    kind: "record",
    id: hash,
    prompt: record.prompt.text,
    promptSource: "endpoint",
    maxNewTokens: record.decoding.maxNewTokens,
    expectedPromptHash: record.prompt.hash,
    registeredModelHash: registered.modelHash,
    expectedResponseHash: record.response.hash,
    engine: ctx.engine,
  });
  report.anchored = anchored;
  if (leaf !== hash) report.problems.push(`record hash ${hash} is not the leaf of its fields (${leaf})`);
  if (anchored === false) report.problems.push(`batch ${record.batch.batchId} does not prove this record on-chain`);
  report.match = report.problems.length === 0;
  return report;
}

interface FinishInput {
  kind: VerifyReport["kind"];
  id: string;
  prompt: string;
  promptSource: TextSource;
  maxNewTokens: number;
  expectedPromptHash: string;
  registeredModelHash: string;
  expectedResponseHash: string;
  engine: InferenceEngine;
  /** The text the model reads when it is not `prompt` itself (a conversation turn's rendered thread). */
  modelPrompt?: string;
}

async function finish(ctx: VerifyContext, input: FinishInput): Promise<VerifyReport> {
  const problems: string[] = [];
  const computedPromptHash = hashText(input.prompt);
  const promptOk = computedPromptHash === input.expectedPromptHash.toLowerCase();
  if (!promptOk) problems.push(`prompt text hashes to ${computedPromptHash}, the record says ${input.expectedPromptHash}`);
  const local = input.engine.modelHash.toLowerCase();
  const modelOk = local === input.registeredModelHash.toLowerCase();
  if (!modelOk) problems.push(`local model hash ${local} is not the registered ${input.registeredModelHash}`);
  // Re-run even when a check above failed, so both response hashes are always shown.
  const result = await input.engine.generate({ prompt: input.modelPrompt ?? input.prompt, maxNewTokens: input.maxNewTokens });
  const responseOk = result.responseHash.toLowerCase() === input.expectedResponseHash.toLowerCase();
  if (!responseOk) problems.push(`re-inference gives response hash ${result.responseHash}, the record says ${input.expectedResponseHash}`);
  return {
    match: problems.length === 0,
    kind: input.kind,
    id: input.id,
    prompt: input.prompt,
    promptSource: input.promptSource,
    maxNewTokens: input.maxNewTokens,
    promptHash: { expected: input.expectedPromptHash, computed: computedPromptHash, ok: promptOk },
    modelHash: { registered: input.registeredModelHash, local, ok: modelOk },
    responseHash: { expected: input.expectedResponseHash, computed: result.responseHash, ok: responseOk },
    computedResponse: result.text,
    problems,
  };
}

async function findChatRequested(ctx: VerifyContext, requestId: bigint): Promise<{ prompt: string; maxNewTokens: number }> {
  const iface = ctx.deployment.chatRecordRegistry.iface;
  const logs = await ctx.provider.getLogs({
    address: ctx.deployment.chatRecordRegistry.address,
    fromBlock: ctx.deployment.startBlock,
    toBlock: "latest",
    topics: [iface.getEvent("ChatRequested")!.topicHash, zeroPadValue(toBeHex(requestId), 32)],
  });
  const parsed = logs.length > 0 ? iface.parseLog(logs[0]) : null;
  if (!parsed) throw new VerifyInputError(`no ChatRequested event for request ${requestId} (is the RPC an archive of this chain?)`);
  // The event carries the prompt's raw bytes; invalid UTF-8 shows as U+FFFD (and then fails the prompt hash check).
  return { prompt: decodePrompt(parsed.args.prompt as string).text, maxNewTokens: Number(parsed.args.maxNewTokens) };
}

async function findRequestByResponseHash(ctx: VerifyContext, hash: string): Promise<bigint | undefined> {
  const iface = ctx.deployment.chatRecordRegistry.iface;
  const logs = await ctx.provider.getLogs({
    address: ctx.deployment.chatRecordRegistry.address,
    fromBlock: ctx.deployment.startBlock,
    toBlock: "latest",
    topics: [iface.getEvent("RecordFinalized")!.topicHash],
  });
  for (const log of logs) {
    const parsed = iface.parseLog(log);
    if (parsed && (parsed.args.responseHash as string).toLowerCase() === hash) return parsed.args.requestId as bigint;
  }
  return undefined;
}

async function endpointsOf(ctx: VerifyContext, validators: readonly string[]): Promise<string[]> {
  const registry = new Contract(ctx.deployment.validatorRegistry.address, ctx.deployment.validatorRegistry.iface, ctx.provider);
  const urls = new Set(ctx.endpoints ?? []);
  for (const v of validators) {
    try {
      const info = await registry.validatorInfo(v);
      if (info.endpoint) urls.add(String(info.endpoint).replace(/\/+$/, ""));
    } catch {
      // a validator without info has no endpoint
    }
  }
  return [...urls];
}

async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok ? await response.json() : undefined;
  } catch {
    return undefined;
  }
}

/** The text behind `hash` from the first endpoint whose answer really hashes to it. */
async function fetchText(ctx: VerifyContext, endpoints: readonly string[], hash: string): Promise<string | undefined> {
  for (const base of endpoints) {
    const body = (await getJson(`${base}/v1/records/${hash}`, ctx.fetchTimeoutMs ?? 3_000)) as { text?: unknown } | undefined;
    if (typeof body?.text === "string" && hashText(body.text) === hash.toLowerCase()) return body.text;
  }
  return undefined;
}

async function fetchOffChainRecord(ctx: VerifyContext, hash: string): Promise<OffChainRecord | undefined> {
  const endpoints = new Set(ctx.endpoints ?? []);
  const registry = new Contract(ctx.deployment.validatorRegistry.address, ctx.deployment.validatorRegistry.iface, ctx.provider);
  const count = Number(await registry.validatorCount());
  for (let i = 0; i < Math.min(count, 100); i++) {
    const info = await registry.validatorInfo(await registry.validatorAt(i));
    if (info.endpoint) endpoints.add(String(info.endpoint).replace(/\/+$/, ""));
  }
  for (const base of endpoints) {
    const body = (await getJson(`${base}/v1/records/${hash}`, ctx.fetchTimeoutMs ?? 3_000)) as OffChainRecord | undefined;
    if (body?.kind === "record") return body;
  }
  return undefined;
}

/** Human-readable report lines (the CLI, the demo and the Hardhat task print these). */
export function formatReport(report: VerifyReport): string[] {
  const mark = (ok: boolean) => (ok ? "ok" : "DIFFERENT");
  return [
    `${report.kind === "request" ? "request" : "record"} ${report.id}`,
    `  prompt (${report.promptSource}): ${JSON.stringify(report.prompt.length > 120 ? report.prompt.slice(0, 117) + "..." : report.prompt)}`,
    `  prompt hash     ${report.promptHash.computed} ${mark(report.promptHash.ok)}`,
    `  model hash      registered ${report.modelHash.registered}`,
    `                  local      ${report.modelHash.local} ${mark(report.modelHash.ok)}`,
    `  response hash   on record  ${report.responseHash.expected}`,
    `                  re-run     ${report.responseHash.computed} ${mark(report.responseHash.ok)}`,
    ...(report.thread ? [`  thread          after turns ${report.thread.earlierTurns.join(", ")}; links ${mark(report.thread.linksOk)}; re-run from the rendered thread`] : []),
    ...(report.anchored !== undefined ? [`  anchored batch  ${report.anchored === null ? "not anchored yet" : report.anchored ? "proof ok" : "PROOF FAILS"}`] : []),
    ...report.problems.map((p) => `  problem: ${p}`),
    report.match ? "MATCH" : "MISMATCH",
  ];
}

export interface VerifyCliOptions {
  /** Default: the deployments file's rpcUrl, else http://127.0.0.1:8545. */
  rpcUrl?: string;
  deployments: string;
  /** Default: the folder the deployment registered as the model's uri, when it exists here; else models/tiny. */
  modelDir?: string;
  providers: string[];
  endpoint: string[];
  json: boolean;
}

/** The deployment's model uri (model id 1, as the deploy registers it) when it names a model folder on this machine. */
async function registeredModelDir(deployment: Deployment, provider: JsonRpcProvider): Promise<string | undefined> {
  const registry = createChatRegistryClient(deployment.chatRecordRegistry, provider);
  const { uri } = await registry.getModel(1);
  return uri && fs.existsSync(path.join(uri, "config.json")) ? uri : undefined;
}

/** Loads what `verify` needs from CLI-style options; the caller closes the engine and provider. */
export async function openVerifyContext(options: Omit<VerifyCliOptions, "json">): Promise<VerifyContext> {
  const deployment = loadDeployment(options.deployments);
  const provider = createProvider(resolveRpcUrl(options.rpcUrl, options.deployments), deployment.chainId);
  const modelDir = options.modelDir ?? (await registeredModelDir(deployment, provider)) ?? DEFAULT_MODEL_DIR;
  if (path.resolve(modelDir) === path.resolve(DEFAULT_TINY_MODEL_DIR)) await ensureTinyModel(path.resolve(modelDir));
  const engine = await loadEngine({ modelDir, providers: options.providers });
  return { provider, deployment, engine, endpoints: options.endpoint };
}

async function main(argv: string[]): Promise<number> {
  const env = process.env;
  const program = new Command()
    .name("npm run verify --")
    .description("Re-checks a chat record: prompt hash, model hash, and greedy re-inference of the response. Exit 0 only on MATCH.")
    .argument("<id>", "on-chain request id (decimal), a response hash of a finalized record, or an off-chain record hash")
    .option("--rpc-url <url>", "JSON-RPC endpoint (env ORACLE_RPC_URL; default: the deployments file's rpcUrl, else http://127.0.0.1:8545)", env.ORACLE_RPC_URL)
    .option("--deployments <file>", "deployments file (env ORACLE_DEPLOYMENTS)", env.ORACLE_DEPLOYMENTS ?? "deployments/localhost.json")
    .option("--model-dir <dir>", "local model folder (env ORACLE_MODEL_DIR; default: the registered model's uri if it is a folder here, else models/tiny)", env.ORACLE_MODEL_DIR)
    .option("--providers <list>", "execution providers, comma-separated", (v) => v.split(","), (env.ORACLE_PROVIDERS ?? "cpu").split(","))
    .option("--endpoint <url>", "node API to fetch texts/records from (repeatable; on-chain endpoints are added)", (v, acc: string[]) => [...acc, v], [] as string[])
    .option("--json", "print the report as JSON", false)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  let id: string;
  let options: VerifyCliOptions;
  try {
    program.parse(argv, { from: "user" });
    id = program.args[0];
    options = program.opts<VerifyCliOptions>();
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  let ctx: VerifyContext | undefined;
  try {
    ctx = await openVerifyContext(options);
    const report = await verify(ctx, id);
    if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stdout.write(`${formatReport(report).join("\n")}\n`);
    return report.match ? 0 : 1;
  } catch (error) {
    process.stderr.write(`verify: ${(error as Error).message.split("\n")[0]}\n`);
    return 2;
  } finally {
    await ctx?.engine.close();
    ctx?.provider.destroy();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}

export { main as verifyMain };
