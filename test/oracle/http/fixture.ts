import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { ethers } from "hardhat";
import { hexlify, randomBytes, type Contract } from "ethers";
import { deployAll } from "../../../scripts/lib/deploy";
import { computeCommitment } from "../../../oracle/src/chain/chatRegistry";
import { loadDeployment, type Deployment } from "../../../oracle/src/chain/deployments";
import type { Common } from "../../../oracle/src/common";
import type { OracleConfig } from "../../../oracle/src/config";
import type { InferenceEngine } from "../../../oracle/src/inference";
import { createListener, type Listener } from "../../../oracle/src/chain/listener";
import { createChainViews, type ChainViews, type ChainViewsOptions } from "../../../oracle/src/http/chainViews";
import { createEventApplier } from "../../../oracle/src/jobs/events";
import { createJournal } from "../../../oracle/src/jobs/journal";
import { createChainEventLog, type ChainEventLog } from "../../../oracle/src/store/chainEventLog";
import { CountingHardhatProvider } from "../../helpers/hardhatRpc";
import { createApiKeySet } from "../../../oracle/src/http/apiKeys";
import { createHttpServer, type HttpDeps, type RunningHttpServer } from "../../../oracle/src/http/server";
import { createBatchAnchorer, type BatchAnchorer } from "../../../oracle/src/store/batchAnchorer";
import { createTestCommon } from "../store/fixtures";
import { sharedTinyEngine } from "../../helpers/engines";

export const STAKES = [200n, 300n, 500n].map((tokens) => tokens * 10n ** 18n);
export const ADMIN_TOKEN = "test-admin-token-0123456789";
/** The API key `startApi` configures and `postJson` sends (POST /v1/chat needs one). */
export const TEST_API_KEY = "test-api-key-0123456789abcdef";

/**
 * Deploys the contracts on Hardhat's in-process network with the tiny model registered as model 1, and stakes three
 * validators (stakes 200/300/500 tokens, so a slash of 10 keeps each in the pool, endpoints set). Use with loadFixture.
 */
export async function deployedNetworkFixture() {
  const engine = await sharedTinyEngine();
  const [deployer, user, ...validatorSigners] = await ethers.getSigners();
  const validators = validatorSigners.slice(0, 3);
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-oracle-api-"));
  await deployAll(hre, { modelHash: engine.modelHash, write: true, redeploy: true, outDir });
  const file = path.join(outDir, "hardhat.json");
  const deployment: Deployment = loadDeployment(file);
  const raw = JSON.parse(fs.readFileSync(file, "utf8")) as { addresses: { StakeToken: string } };
  fs.rmSync(outDir, { recursive: true, force: true }); // everything needed is read
  const token = await ethers.getContractAt("DemoToken", raw.addresses.StakeToken);
  const validatorRegistry = await ethers.getContractAt("ValidatorRegistry", deployment.validatorRegistry.address);
  const chatRegistry = await ethers.getContractAt("ChatRecordRegistry", deployment.chatRecordRegistry.address);
  for (const [i, validator] of validators.entries()) {
    await token.connect(deployer).mint(validator.address, STAKES[i]);
    await token.connect(validator).approve(await validatorRegistry.getAddress(), STAKES[i]);
    await validatorRegistry.connect(validator).stake(STAKES[i], `http://127.0.0.1:${9000 + i}`);
  }
  return { engine, deployer, user, validators, deployment, token, validatorRegistry, chatRegistry };
}

export type Network = Awaited<ReturnType<typeof deployedNetworkFixture>>;

/**
 * Runs one chat request through its whole life with the validators' keys: request, draw, three commits, three
 * reveals (reveals stay open after the quorum). With `parentId`, a turn extending that request's thread. With `dissent`, the first validator reveals another text first and is
 * slashed when the other two finalize.
 */
export async function runRequestToFinal(net: Network, prompt: string, options: { dissent?: boolean; parentId?: bigint } = {}) {
  const { chatRegistry, user, engine } = net;
  const fee = 10n ** 15n;
  const rest = [ethers.toUtf8Bytes(prompt), 8, ethers.ZeroAddress, 0, 0, { value: fee }] as const;
  // With parentId: the next turn of the user's conversation (the committee here answers the bare prompt; the contract
  // does not see what was generated from).
  const tx = options.parentId === undefined
    ? await chatRegistry.connect(user).requestChat(1, ...rest)
    : await chatRegistry.connect(user).requestChatFollowUp(options.parentId, ...rest);
  const receipt = await tx.wait();
  const requested = receipt!.logs
    .map((log) => chatRegistry.interface.parseLog(log))
    .find((parsed) => parsed?.name === "ChatRequested")!;
  const requestId = requested.args.requestId as bigint;
  await (await chatRegistry.connect(user).draw(requestId)).wait(); // the seed block (the request's) is past now
  const drawn = (await chatRegistry.getRecord(requestId)).committee;
  const committee = drawn.map((a) => net.validators.find((v) => v.address === a)!);
  const { text } = await engine.generate({ prompt, maxNewTokens: 8 });
  const texts = committee.map((_, i) => (options.dissent && i === 0 ? `${text} (dissent)` : text));
  const salts = committee.map(() => hexlify(randomBytes(32)));
  for (const [i, member] of committee.entries()) {
    const commitment = computeCommitment(requestId, member.address, ethers.keccak256(ethers.toUtf8Bytes(texts[i])), salts[i]);
    await chatRegistry.connect(member).commitResponse(requestId, commitment);
  }
  for (const [i, member] of committee.entries()) {
    await chatRegistry.connect(member).revealResponse(requestId, texts[i], salts[i]);
  }
  return { requestId, text, committee };
}

/**
 * Sends `requestChat` with raw prompt bytes, as any caller may (Solidity does not check that a `string` is UTF-8; the
 * ABI encodes `string` and `bytes` alike). Returns the new request's id.
 */
export async function requestChatWithPromptBytes(net: Network, prompt: Uint8Array, maxNewTokens = 8): Promise<bigint> {
  const { chatRegistry, user } = net;
  const tx = await chatRegistry.connect(user).requestChat(1, prompt, maxNewTokens, ethers.ZeroAddress, 0, 0, { value: 10n ** 15n });
  await tx.wait();
  return (await chatRegistry.requestCount()) as bigint;
}

/** Chain views fed by a real listener over the network, as in the node; the listener steps before each read. */
export interface IndexedChain {
  chain: ChainViews;
  listener: Listener;
  events: ChainEventLog;
  /** What the listener asked the chain. */
  listenerRpc: CountingHardhatProvider;
  /** Steps the listener until it has read up to the head (one caller at a time). */
  catchUp(): Promise<void>;
}

export function createIndexedChain(
  net: Network,
  common: Common,
  views: Partial<Pick<ChainViewsOptions, "provider" | "retention" | "pollIntervalMs" | "catchUp">> = {},
): IndexedChain {
  const { logger, metrics } = common;
  const journal = createJournal(common.db);
  const events = createChainEventLog(common.db);
  const listenerRpc = new CountingHardhatProvider();
  const listener = createListener(common, {
    provider: listenerRpc,
    journal,
    contracts: [net.deployment.chatRecordRegistry, net.deployment.validatorRegistry],
    startBlock: net.deployment.startBlock,
    apply: createEventApplier({ journal, validators: [], eventLog: events, logger, metrics }),
    rollback: (ancestor) => events.dropAbove(ancestor),
  });
  let running = Promise.resolve();
  const catchUp = () => {
    running = running.then(async () => {
      while ((await listener.step()).type !== "idle");
    });
    return running;
  };
  const chain = createChainViews({
    deployment: net.deployment,
    provider: ethers.provider,
    events,
    processedBlock: () => journal.processedBlock(),
    catchUp,
    logger,
    metrics,
    pollIntervalMs: 50,
    ...views,
  });
  return { chain, listener, events, listenerRpc, catchUp };
}

export interface ApiUnderTest {
  common: Common;
  chain: ChainViews;
  /** The listener feeding `chain` and its event log. */
  indexed: IndexedChain;
  anchorer: BatchAnchorer;
  deps: HttpDeps;
  server: RunningHttpServer;
  url: string;
  paused: { value: boolean };
  stop(): Promise<void>;
}

/** Starts the API on a free port over the deployed network, anchoring with the first validator's key for real. */
export async function startApi(
  net: Network,
  overrides: Partial<OracleConfig> = {},
  depsOverrides: Partial<HttpDeps> = {},
  logLines?: string[],
): Promise<ApiUnderTest> {
  const common = createTestCommon({ httpPort: 0, adminToken: ADMIN_TOKEN, batchSize: 2, batchIntervalMs: 3_600_000, ...overrides }, logLines);
  const indexed = createIndexedChain(net, common);
  const { chain } = indexed;
  const anchorValidator = net.validators[0];
  const anchorer = createBatchAnchorer(common, {
    validator: anchorValidator.address,
    sendAnchor: async (root, count, modelId) => {
      const registry = net.chatRegistry.connect(anchorValidator) as unknown as Contract;
      const receipt = await (await registry.anchorBatch(root, count, modelId)).wait();
      const anchored = receipt.logs.map((log: never) => net.chatRegistry.interface.parseLog(log)).find((p: { name?: string } | null) => p?.name === "BatchAnchored");
      return { txHash: receipt.hash as string, batchId: anchored.args.batchId as bigint };
    },
  });
  const paused = { value: false };
  const deps: HttpDeps = {
    engine: net.engine,
    chain,
    isReady: () => true,
    anchorer,
    pause: { pause: () => void (paused.value = true), resume: () => void (paused.value = false), isPaused: () => paused.value },
    apiKeys: createApiKeySet([TEST_API_KEY]),
    ...depsOverrides,
  };
  const server = await createHttpServer(common, deps).listen();
  return {
    common,
    chain,
    indexed,
    anchorer,
    deps,
    server,
    url: server.url,
    paused,
    async stop() {
      await server.close();
      await anchorer.stop();
      chain.close();
      await common.shutdown.run("test over");
    },
  };
}

/** fetch + JSON, returning status, headers and the parsed body. */
export async function getJson(url: string, init?: RequestInit) {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, headers: response.headers, body };
}

/** POST with a JSON body and `TEST_API_KEY` (pass `{ "x-api-key": "" }`-style overrides to test other keys). */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return getJson(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": TEST_API_KEY, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}
