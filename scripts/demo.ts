/**
 * `npm run demo [-- --keep-running] [-- --processes] [-- --chain anvil]`: the whole oracle on one machine, in about a minute.
 * Compiles (if needed) → takes the trained model (models/trained; `--model models/tiny` builds the tiny one if
 * missing) → starts `hardhat node` (or anvil) → deploys → stakes 3 validators → starts the oracle (one process with 3 keys, or 3
 * processes) → sends a chat request → prints the committee, commits, reveals, the finalized record, and re-verifies it.
 */
import { createHash, randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command } from "commander";
import { formatEther, type JsonRpcProvider, type Wallet } from "ethers";
import pino from "pino";
import { createProvider } from "../oracle/src/chain/rpc";
import { integerOption } from "../oracle/src/cli/support";
import { formatReport, verify } from "../oracle/src/cli/verify";
import { loadDeployment } from "../oracle/src/chain/deployments";
import { parseConfig } from "../oracle/src/config";
import { type InferenceEngine, ensureTinyModel, loadEngine } from "../oracle/src/inference";
import { DEFAULT_TINY_MODEL_DIR, DEFAULT_TRAINED_MODEL_DIR } from "../oracle/src/inference/buildModel";
import { type OracleNode, startOracleNode } from "../oracle/src/node";
import { onStopSignal } from "../oracle/src/stopSignals";
import { ROLES, devAccount } from "./demo/accounts";
import { deployToNode } from "./demo/deploy";
import { type ChainKind, type ChainNode, LOCAL_CHAIN_ID, parseChainKind, startChainNode } from "./demo/chainNode";
import { REPO_ROOT, freePort } from "./demo/hardhatNode";
import { contractsOf, sendChatRequest, stakeValidators } from "./demo/network";
import { deploymentPath } from "./lib/deploy";
import { type OracleProcess, startOracleProcess } from "./demo/oracleProcess";

const STAKES = [100n, 200n, 300n];
const DEFAULT_PROMPT = "What is an oracle?";

interface DemoOptions {
  keepRunning: boolean;
  processes: boolean;
  prompt: string;
  maxNewTokens: number;
  model: string;
  port?: number;
  chain: ChainKind;
}

/** How long an off-chain answer waits for its anchor in the demo (the node's default is a minute and 16 records). */
const DEMO_BATCH_INTERVAL_MS = 2_000;
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const say = (line: string) => process.stdout.write(`[${elapsed()}] ${line}\n`);
const detail = (line: string) => process.stdout.write(`         ${line}\n`);
const short = (hash: string) => `${hash.slice(0, 10)}…${hash.slice(-6)}`;

async function main(): Promise<void> {
  const program = new Command()
    .name("npm run demo --")
    .description("Runs chain, contracts, 3 validators and one chat request end to end, printing each step.")
    .option("--keep-running", "leave the chain and the oracle running and print their URLs (Ctrl-C, SIGTERM or SIGHUP stops them)", false)
    .option("--chain <kind>", "the local chain to start: hardhat (hardhat node) or anvil (Foundry)", parseChainKind, "hardhat" as ChainKind)
    .option("--processes", "run the 3 validators as 3 separate OS processes", false)
    .option("--port <n>", "the chain's RPC port (default: a free one; deployments/localhost.json records it either way)", integerOption(1, 65535))
    .option("--prompt <text>", "the chat prompt", DEFAULT_PROMPT)
    .option("--model <dir>", "model folder (models/tiny: the random-weight tiny model, built if missing)", path.relative(REPO_ROOT, DEFAULT_TRAINED_MODEL_DIR))
    .option("--max-new-tokens <n>", "generation cap of the request", integerOption(1, 512), 24)
    .showHelpAfterError("(see --help)");
  program.parse(process.argv);
  const options = program.opts<DemoOptions>();

  const cleanups: { name: string; fn: () => Promise<void> }[] = [];
  const cleanup = async () => {
    for (const { fn } of cleanups.reverse()) await fn().catch(() => undefined);
    cleanups.length = 0;
  };
  let interrupted = false;
  // A closed terminal must not turn the goodbye lines into an EPIPE crash before the chain is stopped.
  process.stdout.on("error", () => undefined);
  onStopSignal((signal) => {
    interrupted = true;
    say(`stopping (${signal === "SIGINT" ? "Ctrl-C" : signal})`);
    void cleanup().then(() => process.exit(options.keepRunning ? 0 : 128 + os.constants.signals[signal]));
  });

  try {
    await run(options, cleanups);
  } catch (error) {
    process.stderr.write(`demo failed: ${(error as Error).message}\n`);
    await cleanup();
    process.exit(1);
  }
  if (options.keepRunning && !interrupted) {
    say("running; press Ctrl-C to stop everything");
    await new Promise(() => undefined); // until a signal
  }
  await cleanup();
  say("stopped the oracle and the chain; done");
  process.exit(0);
}

async function run(options: DemoOptions, cleanups: { name: string; fn: () => Promise<void> }[]): Promise<void> {
  const dataDir = path.join(REPO_ROOT, ".data/demo", new Date().toISOString().replace(/[:.]/g, "-"));
  fs.mkdirSync(dataDir, { recursive: true });

  say("compiling contracts (skipped when up to date)");
  const compile = spawnSync(path.join(REPO_ROOT, "node_modules/.bin/hardhat"), ["compile", "--quiet"], { cwd: REPO_ROOT, encoding: "utf8" });
  if (compile.status !== 0) throw new Error(`hardhat compile failed:\n${compile.stdout}${compile.stderr}`);

  const chosen = path.resolve(REPO_ROOT, options.model);
  if (chosen === DEFAULT_TINY_MODEL_DIR) say("building the tiny model if missing");
  const modelDir = chosen === DEFAULT_TINY_MODEL_DIR ? await ensureTinyModel(DEFAULT_TINY_MODEL_DIR) : chosen;
  detail(`model folder ${path.relative(REPO_ROOT, modelDir)}`);

  const chainLog = fs.createWriteStream(path.join(dataDir, `${options.chain}-node.log`));
  const chain: ChainNode = await startChainNode(options.chain, { port: options.port, onOutput: (line) => chainLog.write(`${line}\n`) });
  cleanups.push({ name: "chain", fn: () => chain.stop() });
  say(`${options.chain === "anvil" ? "anvil" : "hardhat node"} running at ${chain.url} (pid ${chain.pid})`);

  const provider = createProvider(chain.url, LOCAL_CHAIN_ID);
  cleanups.push({ name: "provider", fn: async () => provider.destroy() });
  const deployment = await deployToNode(provider, devAccount(ROLES.deployer), "localhost", {
    redeploy: true,
    write: true,
    modelDir,
    modelUri: path.relative(REPO_ROOT, modelDir),
    commitWindow: 60,
    revealWindow: 60,
  });
  say(`deployed to chain ${deployment.chainId}, wrote ${path.relative(REPO_ROOT, deploymentPath("localhost"))}`);
  detail(`ChatRecordRegistry ${deployment.addresses.ChatRecordRegistry}`);
  detail(`ValidatorRegistry  ${deployment.addresses.ValidatorRegistry}`);
  detail(`model ${deployment.modelId} registered with hash ${deployment.modelHash}`);

  const validators: Wallet[] = ROLES.validators.slice(0, 3).map(devAccount);
  const ports = options.processes ? await Promise.all(validators.map(() => freePort())) : [await freePort()];
  const endpointOf = (i: number) => `http://127.0.0.1:${ports[options.processes ? i : 0]}`;
  await stakeValidators(
    provider,
    deployment,
    validators.map((wallet, i) => ({ wallet, tokens: STAKES[i], endpoint: endpointOf(i) })),
  );
  say(`staked 3 validators (${STAKES.join(" / ")} CODS)`);

  const deploymentsFile = deploymentPath("localhost");
  // POST /v1/chat (and the page's chat form) needs an API key: a fresh one per demo, stored only as its hash.
  const apiKey = randomBytes(18).toString("base64url");
  const apiKeysFile = path.join(dataDir, "api-keys");
  fs.writeFileSync(apiKeysFile, `sha256:${createHash("sha256").update(apiKey).digest("hex")}\n`, { mode: 0o600 });
  // Off-chain answers (POST /v1/chat, /v1/chat/completions) are anchored within seconds, one record being enough, so
  // that their receipts gain a Merkle proof while someone tries the demo; a local chain's gas costs nothing.
  const anchorArgs = ["--batch-interval-ms", String(DEMO_BATCH_INTERVAL_MS), "--anchor-min-records", "1"];
  const baseArgs = ["--rpc-url", chain.url, "--ws-url", chain.wsUrl, "--deployments", deploymentsFile, "--model-dir", modelDir, "--poll-interval-ms", "100", "--api-keys", apiKeysFile, ...anchorArgs];
  let apiUrls: string[];
  let engine: InferenceEngine | undefined;
  if (options.processes) {
    const starts = await Promise.allSettled(
      validators.map((wallet, i) =>
        startOracleProcess({
          args: [...baseArgs, "--http-port", String(ports[i]), "--data-dir", path.join(dataDir, `oracle-${i + 1}`)],
          env: { ORACLE_VALIDATOR_KEYS: wallet.privateKey }, // secrets never on a command line (ps)
          url: endpointOf(i),
          logFile: path.join(dataDir, `oracle-${i + 1}.log`),
        }),
      ),
    );
    const procs: OracleProcess[] = [];
    for (const start of starts) {
      if (start.status === "fulfilled") {
        procs.push(start.value);
        cleanups.push({ name: `oracle ${start.value.pid}`, fn: () => start.value.stop() });
      }
    }
    const failed = starts.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    apiUrls = procs.map((p) => p.url);
    say(`started 3 oracle processes (pids ${procs.map((p) => p.pid).join(", ")}), logs in ${path.relative(REPO_ROOT, dataDir)}/`);
  } else {
    const { config } = parseConfig({
      argv: [...baseArgs, "--http-port", String(ports[0]), "--data-dir", path.join(dataDir, "oracle")],
      env: { ORACLE_VALIDATOR_KEYS: validators.map((w) => w.privateKey).join(",") },
    });
    engine = await loadEngine({ modelDir, providers: config.providers });
    const node: OracleNode = await startOracleNode(config, {
      engine,
      logDestination: pino.destination({ dest: path.join(dataDir, "oracle.log"), sync: false }),
    });
    const shared = engine;
    cleanups.push({ name: "engine", fn: () => shared.close() });
    cleanups.push({ name: "oracle", fn: () => node.stop("demo done") });
    while (!node.ready()) await new Promise((r) => setTimeout(r, 50));
    apiUrls = [node.url as string];
    say(`started the oracle node with 3 validator keys sharing one model (${engine.provider}), API ${node.url}`);
  }

  await chatRound(provider, deployment, options, validators);

  const requestId = 1n;
  const ctx = { provider, deployment: loadDeployment(deploymentsFile), engine: engine ?? (await loadEngine({ modelDir, providers: ["cpu"] })), endpoints: apiUrls };
  if (!engine) cleanups.push({ name: "verify engine", fn: () => ctx.engine.close() });
  say(`verifying request ${requestId} from public data (npm run verify -- ${requestId})`);
  const report = await verify(ctx, requestId.toString());
  for (const line of formatReport(report)) detail(line);
  if (!report.match) throw new Error("verification did not match");

  if (options.keepRunning) {
    say("everything stays up:");
    for (const line of keepRunningSummary({ chainUrl: chain.url, apiUrls, requestId, apiKey })) detail(line);
  }
}

/**
 * What a newcomer needs after the demo: labelled URLs and the next commands, none of which needs an address or a URL
 * typed by hand (deployments/localhost.json records the chain's URL and every tool reads it).
 */
function keepRunningSummary(s: { chainUrl: string; apiUrls: string[]; requestId: bigint; apiKey: string }): string[] {
  const numbered = s.apiUrls.length > 1;
  return [
    `chain RPC          ${s.chainUrl}   (recorded in deployments/localhost.json; the tools below find it there)`,
    ...s.apiUrls.flatMap((url, i) => [
      `node API${numbered ? ` ${i + 1}` : "  "}         ${url}/v1/requests/${s.requestId}`,
      `monitoring page${numbered ? ` ${i + 1}` : "  "}  ${url}/`,
      `OpenAI base URL${numbered ? ` ${i + 1}` : "  "}  ${url}/v1   (new OpenAI({ baseURL, apiKey }): docs/api.md)`,
    ]),
    `chat API key       ${s.apiKey}   (X-API-Key for POST /v1/chat and the page's chat form; the OpenAI client's apiKey)`,
    "next, in another terminal:",
    `  npx hardhat --network localhost chat --prompt "What is a dog?" --wait   # request ${s.requestId + 1n}`,
    `  npm run verify -- ${s.requestId + 1n}`,
    `  npx hardhat --network localhost validators`,
    "join as a validator of your own: docs/oracle.md, \"Join the network as a second validator\"",
  ];
}

async function chatRound(provider: JsonRpcProvider, deployment: Awaited<ReturnType<typeof deployToNode>>, options: DemoOptions, validators: Wallet[]) {
  const { chat, validators: registry } = contractsOf(deployment, provider);
  const user = devAccount(ROLES.user);
  const fromBlock = await provider.getBlockNumber();
  const sent = await sendChatRequest(provider, deployment, user, { prompt: options.prompt, maxNewTokens: options.maxNewTokens });
  say(`user ${short(user.address)} requested a chat: request ${sent.requestId}, tx ${short(sent.receipt.hash)}, gas ${sent.receipt.gasUsed}`);
  detail(`prompt: ${JSON.stringify(options.prompt)}`);
  const total = (await registry.totalStake()) as bigint;
  const names = new Map(validators.map((w, i) => [w.address.toLowerCase(), `validator ${i + 1}`]));
  const label = (a: string) => `${names.get(a.toLowerCase()) ?? "validator ?"} ${short(a)}`;
  detail(`its committee will be drawn from the hash of block ${sent.seedBlock}, which did not exist when the request ran`);

  // Follow the request's events as they are mined and print each once.
  let gasTotal = sent.receipt.gasUsed;
  let responseText = "";
  let outcome: { outcome: "finalized" | "declined" | "timed_out"; blockNumber: number } | undefined;
  let next = fromBlock;
  const deadline = Date.now() + 60_000;
  while (!outcome) {
    if (Date.now() > deadline) throw new Error(`request ${sent.requestId} reached no outcome within 60 s`);
    const head = await provider.getBlockNumber();
    const logs = next <= head ? await provider.getLogs({ address: deployment.addresses.ChatRecordRegistry, fromBlock: next, toBlock: head }) : [];
    next = head + 1;
    for (const log of logs) {
      const parsed = chat.interface.parseLog(log);
      if (!parsed || parsed.args.requestId !== sent.requestId) continue;
      if (parsed.name === "CommitteeDrawn") {
        const committee = parsed.args.committee as string[];
        say(`committee drawn by the first member's transaction, block ${log.blockNumber} (${committee.length} of 3, probability ∝ stake):`);
        for (const member of committee) {
          const stake = (await registry.stakeOf(member)) as bigint;
          detail(`${label(member)}  stake ${formatEther(stake)} CODS = ${((Number(stake) / Number(total)) * 100).toFixed(1)}% of ${formatEther(total)}`);
        }
      } else if (parsed.name === "ResponseCommitted" || parsed.name === "ResponseRevealed") {
        const receipt = await provider.getTransactionReceipt(log.transactionHash);
        gasTotal += receipt?.gasUsed ?? 0n;
        const what =
          parsed.name === "ResponseCommitted"
            ? `committed ${short(parsed.args.commitment as string)}`
            : `revealed  ${short(parsed.args.responseHash as string)}`;
        say(`${label(parsed.args.validator as string)} ${what}  tx ${short(log.transactionHash)} block ${log.blockNumber} gas ${receipt?.gasUsed}`);
        if (parsed.name === "ResponseRevealed") responseText = parsed.args.responseText as string;
      } else if (parsed.name === "MemberSlashed") {
        say(`${label(parsed.args.validator as string)} slashed ${formatEther(parsed.args.amount as bigint)} CODS`);
      } else if (parsed.name === "RecordFinalized") {
        outcome = { outcome: "finalized", blockNumber: log.blockNumber };
      } else if (parsed.name === "RequestTimedOut" && parsed.args.exhausted) {
        outcome = { outcome: "timed_out", blockNumber: log.blockNumber };
      } else if (parsed.name === "RequestDeclined") {
        outcome = { outcome: "declined", blockNumber: log.blockNumber };
      }
    }
    if (!outcome) await new Promise((r) => setTimeout(r, 50));
  }
  if (outcome.outcome !== "finalized") throw new Error(`request ${sent.requestId} ${outcome.outcome.replace("_", " ")} instead of finalizing`);
  const record = await chat.getRecord(sent.requestId);
  say(`record ${sent.requestId} FINALIZED in block ${outcome.blockNumber}:`);
  detail(`prompt        ${JSON.stringify(options.prompt)}`);
  detail(`response      ${JSON.stringify(responseText)}`);
  detail(`prompt hash   ${record.promptHash}`);
  detail(`response hash ${record.responseHash}`);
  detail(`model hash    ${record.modelHash}`);
  detail(`gas used      ${gasTotal} in total (request + commits + reveals; finalization happens inside the quorum reveal)`);
}

void main();
