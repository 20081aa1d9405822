/**
 * `npm run bench:e2e`: the oracle end to end on this machine — a `hardhat node` or anvil process (automine except in
 * the interval phase), the contracts, 3 staked validators served by one oracle process (tiny model, one shared engine),
 * committee 3 / quorum 2. `--validators N` stakes N validators; `--processes` runs each in its own oracle process
 * (own key, data dir and HTTP port), as separate machines would; `--committee`/`--quorum` change the committee.
 *
 * Phase "interval": N requests offered at R req/s (80 on anvil, 40 on hardhat) while the chain mines a block every
 *                   B ms (automine off, many transactions share a block, like a real chain) → finalized requests/s.
 * Phase "latency":  M requests at a low offered rate under automine → request→finalized latency without queueing.
 * Phase "streaming": S chat completions of 32 tokens streamed one at a time over SSE (POST /v1/chat/completions,
 *                   stream: true, the `openai` client) → time to first token, tokens/s as the client receives them,
 *                   and a chat template's render time as a share of one completion (bench/streaming.ts).
 * Phase "kills":    N more requests (40 req/s offered) while the oracle process (with --processes: one validator's process, drawn at
 *                   random each time) is killed with SIGKILL at random moments (until all are final) and restarted →
 *                   kills, lost requests (never finalized), requests finalized twice (both 0).
 * Phase "poison":  rounds of one normal request and four no node can serve (invalid UTF-8, over the context, over the
 *                   model's maxNewTokens, an unserved model) → every normal one finalized, every poison one Declined
 *                   or refused by requestChat, no honest validator slashed after settlement (bench/poison.ts).
 * Phase "alone":    the oracle stopped, the chain process alone takes pre-signed `requestChat` transactions as fast
 *                   as it can under the same interval mining → its own ceiling in transactions/s and CPU per
 *                   transaction, measured side by side with the phases above (a request needs 7 transactions:
 *                   1 request + 3 commits + 3 reveals).
 * Every phase reports the CPU share of the chain process, the oracle (all its processes together) and this benchmark
 * (from /proc), the machine's busy share and the load average: other work on the machine shows there.
 * Writes bench/out/e2e.json (or `--out`). Options: `npm run bench:e2e -- --help`. The interval phase runs first, so it also warms
 * the node up for the latency phase.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command, Option } from "commander";
import { Contract, type JsonRpcProvider, Transaction, type Wallet, ZeroAddress, toUtf8Bytes } from "ethers";
import { integerOption, numberOption } from "../oracle/src/cli/support";
import { seededRandom } from "../oracle/src/prng";
import { devAccount } from "../scripts/demo/accounts";
import { type ChainKind, LOCAL_CHAIN_ID, minesByTimer, parseChainKind, setIntervalMining } from "../scripts/demo/chainNode";
import { REPO_ROOT, freePort } from "../scripts/demo/hardhatNode";
import { type LocalNetwork, startLocalNetwork } from "../scripts/demo/localNetwork";
import { cpuMeter } from "./lib/cpuMeter";
import { type OracleProcess, startOracleProcess } from "../scripts/demo/oracleProcess";
import type { DeploymentFile } from "../oracle/src/chain/deployments";
import { runPoisonPhase } from "./poison";
import { runStreamingPhase } from "./streaming";
import { npmCommand, provenance } from "./provenance";

interface Options {
  requests: number;
  rate?: number;
  killRate: number;
  seed?: number;
  latencyRequests: number;
  latencyRate: number;
  blockMs: number;
  killRequests?: number;
  aloneTransactions: number;
  poisonRounds: number;
  streamRequests: number;
  chainLogging?: true;
  chain: ChainKind;
  validators: number;
  processes?: true;
  committee: number;
  quorum: number;
  out?: string;
  pollMs: number;
  heads: "ws" | "poll";
}

/** The interval phase's offered rate when `--rate` is not given. */
const DEFAULT_RATE: Record<ChainKind, number> = { anvil: 80, hardhat: 40 };

/** The command line; a bad value or an unknown option is commander's one-line error (exit 1). */
function parseOptions(): Options {
  const command = new Command("bench:e2e")
    .description("end-to-end throughput, latency and kill -9 recovery: N validators (default 3), committee 3, local hardhat node or anvil")
    .option("--chain <kind>", "the local chain to start: hardhat or anvil", parseChainKind, "hardhat" as ChainKind)
    .option("--validators <n>", "staked validators (stakes 100, 200, 300, … tokens)", integerOption(1, 100), 3)
    .option("--processes", "one oracle process per validator, each with its own key, data dir and HTTP port (default: one process serves all)")
    .option("--committee <c>", "committee size of each request", integerOption(1), 3)
    .option("--quorum <q>", "matching reveals that finalize a request", integerOption(1), 2)
    .option("--poll-ms <ms>", "the oracle processes' --poll-interval-ms (head, journal and seat-finder polls)", integerOption(1), 20)
    .addOption(
      new Option("--heads <how>", "how the oracles learn of blocks: ws (the chain's newHeads over --ws-url) or poll")
        .choices(["ws", "poll"])
        .default("ws"),
    )
    .option("--out <file>", "where the JSON goes (default: bench/out/e2e.json)")
    .option("--requests <n>", "requests in the interval-mining phase", integerOption(1), 200)
    .option("--rate <r>", "requests per second offered in that phase (default: 80 on anvil, 40 on hardhat)", numberOption(0.01, 10_000))
    .option("--seed <s>", "seed of the prompts and the kill times (default: random, recorded in the JSON)", integerOption(0))
    .option("--latency-requests <m>", "requests in the automine latency phase", integerOption(1), 50)
    .option("--latency-rate <r>", "requests per second offered in the latency phase", numberOption(0.01, 10_000), 2)
    .option("--block-ms <b>", "block interval of the interval-mining phase", integerOption(1), 250)
    .option("--kill-requests <k>", "requests in the kill -9 phase; 0 skips it (default: --requests)", integerOption(0))
    .option("--kill-rate <r>", "requests per second offered in the kill -9 phase", numberOption(0.01, 10_000), 40)
    .option("--alone-transactions <t>", "transactions of the chain-alone ceiling phase", integerOption(1), 1200)
    .option("--stream-requests <s>", "streamed chat completions in the streaming phase; 0 skips it", integerOption(0), 10)
    .option("--poison-rounds <p>", "rounds of the poison phase (1 normal + 4 poison requests each); 0 skips it", integerOption(0), 10)
    .option("--chain-logging", "leave the chain's per-call console log on")
    .parse(process.argv);
  const options = command.opts<Options>();
  if (options.committee > options.validators) command.error(`error: --committee ${options.committee} is more than --validators ${options.validators}`);
  if (options.quorum > options.committee) command.error(`error: --quorum ${options.quorum} is more than --committee ${options.committee}`);
  return options;
}

/**
 * A user account that signs its own requests with a locally counted nonce and fixed gas and fees, and sends them
 * raw: one `eth_sendRawTransaction` per request (ethers' Contract would add fee and nonce look-ups to every one,
 * load on the chain process that the oracle's figure should not pay for).
 */
async function createUser(provider: JsonRpcProvider, wallet: Wallet) {
  let nonce = await provider.getTransactionCount(wallet.address, "pending");
  const block = await provider.getBlock("latest");
  const maxFeePerGas = (block?.baseFeePerGas ?? 1_000_000_000n) * 4n + 2_000_000_000n;
  return {
    async sign(to: string, data: string, value: bigint): Promise<{ raw: string; hash: string }> {
      const tx = Transaction.from({ type: 2, chainId: LOCAL_CHAIN_ID, to, data, value, nonce: nonce++, gasLimit: 600_000, maxFeePerGas, maxPriorityFeePerGas: 1_000_000_000n });
      const raw = await wallet.signTransaction(tx);
      return { raw, hash: Transaction.from(raw).hash as string };
    },
  };
}

/** Dev accounts that send the requests (interval mining: ten, so each account's queue of pending nonces stays short). */
const PIPELINED_SENDERS = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];

/**
 * `count` `requestChat` transactions, signed in turn by the given dev accounts before a phase starts (users sign on
 * their own machines: the benchmark's CPU during the phase is only sending and watching).
 */
async function signRequests(context: PhaseContext, label: string, count: number, senderIndices: readonly number[]) {
  const { provider, deployment } = context;
  const registry = deployment.addresses.ChatRecordRegistry;
  const chat = new Contract(registry, deployment.abis.ChatRecordRegistry as never, provider);
  const users = await Promise.all(senderIndices.map((i) => createUser(provider, devAccount(i))));
  const fee = (await chat.getConfig()).minimumFee as bigint;
  const signed: { raw: string; hash: string }[] = [];
  for (let i = 0; i < count; i++) {
    const data = chat.interface.encodeFunctionData("requestChat", [deployment.modelId, toUtf8Bytes(`${label} request ${i}: what comes next?`), 8, ZeroAddress, 0, 0]);
    signed.push(await users[i % users.length].sign(registry, data, fee));
  }
  return signed;
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);

interface PhaseResult {
  requests: number;
  reqPerSec: number;
  /**
   * Finalized requests per second in the steady part of the phase: 80 % of the requests over the time between the
   * 10th and the 90th percentile finalization (leaves out the pipeline filling up at the start and draining at the end).
   */
  sustainedReqPerSec: number;
  p50Ms: number;
  p95Ms: number;
  lost: number;
  doubleFinalized: number;
  kills: number;
  wallSeconds: number;
  /** Blocks mined during the phase, and how full they were (interval mining shows whether block space is the cap). */
  blocks: number;
  txPerBlock: number;
  gasUsedPerBlock: number;
  /** Where the CPU went (percent of one core over the phase), and the machine's busy share of all its cores. */
  chainNodeCpuPct: number;
  oracleCpuPct: number;
  benchCpuPct: number;
  machineBusyPct: number;
  /** The chain process's CPU per finalized request, in ms (compare with `chainAlone.cpuMsPerTx` × transactions). */
  chainNodeCpuMsPerRequest: number;
  loadAverageStart: number;
  loadAverageEnd: number;
}

/**
 * Watches ChatRequested (which request id each transaction got) and RecordFinalized (when each request was first
 * seen final, wall clock, and how often) with one `eth_getLogs` per new block.
 */
function watchFinalizations(provider: JsonRpcProvider, deployment: DeploymentFile, fromBlock: number, pollMs: number) {
  const chat = new Contract(deployment.addresses.ChatRecordRegistry, deployment.abis.ChatRecordRegistry as never, provider);
  const topic = chat.interface.getEvent("RecordFinalized")!.topicHash;
  const requestedTopic = chat.interface.getEvent("ChatRequested")!.topicHash;
  const firstSeen = new Map<bigint, number>();
  const count = new Map<bigint, number>();
  const requestOfTx = new Map<string, bigint>();
  let next = fromBlock;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const head = await provider.getBlockNumber();
        if (head >= next) {
          const logs = await provider.getLogs({ address: deployment.addresses.ChatRecordRegistry, topics: [[topic, requestedTopic]], fromBlock: next, toBlock: head });
          const now = performance.now();
          for (const log of logs) {
            const id = chat.interface.parseLog(log)!.args.requestId as bigint;
            if (log.topics[0] === requestedTopic) {
              requestOfTx.set(log.transactionHash, id);
              continue;
            }
            count.set(id, (count.get(id) ?? 0) + 1);
            if (!firstSeen.has(id)) firstSeen.set(id, now);
          }
          next = head + 1;
        }
      } catch {
        // the chain is local; a failed poll is retried
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  })();
  return {
    firstSeen,
    count,
    requestOfTx,
    async stop() {
      running = false;
      await loop;
    },
  };
}

interface PhaseContext {
  provider: JsonRpcProvider;
  deployment: DeploymentFile;
  /** Process groups of the chain node and of the oracle processes now running (they change after each kill). */
  pgids: () => { chain: number; oracles: number[] };
}

async function runPhase(
  context: PhaseContext,
  options: {
    requests: number;
    rate: number;
    label: string;
    random: () => number;
    /** SIGKILL to an oracle process and its restart (the next kill waits for it). */
    kill?: { killAndRestart: () => Promise<void> };
    /** Interval mining: more user accounts, so each account's queue of pending nonces stays short. */
    pipelined?: boolean;
  },
): Promise<PhaseResult> {
  const { provider, deployment } = context;
  const { requests, rate } = options;
  const senderIndices = options.pipelined ? PIPELINED_SENDERS : PIPELINED_SENDERS.slice(0, 4);
  const requestTxs = await signRequests(context, options.label, requests, senderIndices);
  const firstBlock = (await provider.getBlockNumber()) + 1;
  // Under interval mining a 25 ms poll would only ask the chain process the same question ten times per block.
  const watcher = watchFinalizations(provider, deployment, firstBlock - 1, options.pipelined ? 50 : 25);
  const sentAt = new Map<string, number>();
  const loadAverageStart = os.loadavg()[0];
  const cpu = cpuMeter(context.pgids);
  let kills = 0;
  let killing = options.kill !== undefined;
  // Kills land at random moments until every request of the phase is final (so also during catch-up after restarts).
  const killer = options.kill
    ? (async () => {
        while (killing) {
          // 0.3–1.5 s after the restarted node is up: several kills land in every stretch of the phase.
          await new Promise((r) => setTimeout(r, 300 + options.random() * 1_200));
          if (!killing) break;
          cpu.touch();
          await options.kill!.killAndRestart();
          kills++;
        }
      })()
    : Promise.resolve();

  const started = performance.now();
  // One lane per user account: a lane broadcasts its transactions one after another (nonce order; an automining node
  // rejects a nonce gap and answers only after mining), the lanes run side by side, and request i leaves no earlier
  // than i / rate seconds after the start. Request ids come from the watcher's ChatRequested logs, by transaction hash.
  const lanes: Promise<void>[] = senderIndices.map(() => Promise.resolve());
  for (let i = 0; i < requests; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const lane = i % lanes.length;
    const signed = requestTxs[i];
    lanes[lane] = lanes[lane].then(async () => {
      sentAt.set(signed.hash, performance.now());
      await provider.send("eth_sendRawTransaction", [signed.raw]);
    });
    if (lane === lanes.length - 1) await Promise.race(lanes);
  }
  await Promise.all(lanes);

  const deadline = performance.now() + 600_000;
  const pending = () => [...sentAt.keys()].some((tx) => {
    const id = watcher.requestOfTx.get(tx);
    return id === undefined || !watcher.firstSeen.has(id);
  });
  while (performance.now() < deadline && pending()) {
    await new Promise((r) => setTimeout(r, 50));
  }
  killing = false;
  await killer;
  const usage = cpu.stop();
  const loadAverageEnd = os.loadavg()[0];
  await new Promise((r) => setTimeout(r, 500)); // a late duplicate finalization would show up here
  await watcher.stop();

  const lastBlock = await provider.getBlockNumber();
  const blockList = await Promise.all(
    Array.from({ length: Math.max(0, lastBlock - firstBlock + 1) }, (_, k) => provider.getBlock(firstBlock + k)),
  );
  const mined = blockList.filter((b) => b !== null);
  const txCount = mined.reduce((n, b) => n + b.transactions.length, 0);
  const gasUsed = mined.reduce((n, b) => n + Number(b.gasUsed), 0);
  const requested = [...sentAt].map(([tx, at]) => ({ id: watcher.requestOfTx.get(tx), at }));
  const ids = requested.filter((r) => r.id !== undefined) as { id: bigint; at: number }[];
  const latencies = ids.filter((r) => watcher.firstSeen.has(r.id)).map((r) => watcher.firstSeen.get(r.id)! - r.at).sort((a, b) => a - b);
  const lastFinal = Math.max(...ids.map((r) => watcher.firstSeen.get(r.id) ?? 0));
  const finalTimes = ids.map((r) => watcher.firstSeen.get(r.id)).filter((t): t is number => t !== undefined).sort((a, b) => a - b);
  const steadyFrom = finalTimes[Math.floor(finalTimes.length * 0.1)];
  const steadyTo = finalTimes[Math.floor(finalTimes.length * 0.9)];
  const steadyCount = Math.floor(finalTimes.length * 0.9) - Math.floor(finalTimes.length * 0.1);
  const wallSeconds = (lastFinal - started) / 1000;
  return {
    requests: requested.length,
    reqPerSec: latencies.length / wallSeconds,
    sustainedReqPerSec: steadyTo > steadyFrom ? steadyCount / ((steadyTo - steadyFrom) / 1000) : NaN,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    // A request never seen on-chain (its transaction failed) counts as lost too.
    lost: requested.length - latencies.length,
    doubleFinalized: ids.filter((r) => (watcher.count.get(r.id) ?? 0) > 1).length,
    kills,
    wallSeconds,
    blocks: mined.length,
    txPerBlock: mined.length ? txCount / mined.length : 0,
    gasUsedPerBlock: mined.length ? gasUsed / mined.length : 0,
    chainNodeCpuPct: usage.chainNodeCpuPct,
    oracleCpuPct: usage.oracleCpuPct,
    benchCpuPct: usage.benchCpuPct,
    machineBusyPct: usage.machineBusyPct,
    chainNodeCpuMsPerRequest: latencies.length ? (1000 * usage.chainNodeCpuSeconds) / latencies.length : NaN,
    loadAverageStart,
    loadAverageEnd,
  };
}

/**
 * The chain process alone (oracle stopped), side by side with the phases above: `count` pre-signed `requestChat`
 * transactions from 10 accounts broadcast as fast as the node takes them under the same interval mining. Its mined
 * transactions per second and CPU per transaction bound what any oracle could reach on this machine (each finalized
 * request needs 1 request + 3 commits + 3 reveals = 7 transactions, plus the reads that decide them: reveals stay open
 * after the quorum and each is paid).
 */
async function measureChainAlone(context: PhaseContext, count: number, blockMs: number, chainKind: ChainKind) {
  const { provider } = context;
  const signed = (await signRequests(context, "alone", count, PIPELINED_SENDERS)).map((tx) => tx.raw);
  await setIntervalMining(provider, chainKind, blockMs);
  const firstBlock = (await provider.getBlockNumber()) + 1;
  const cpu = cpuMeter(context.pgids);
  const started = performance.now();
  let next = 0;
  await Promise.all(PIPELINED_SENDERS.map(async () => {
    while (next < signed.length) await provider.send("eth_sendRawTransaction", [signed[next++]]);
  }));
  // Done when the pool is empty (the pending block has no transactions left).
  for (;;) {
    const pendingBlock = (await provider.send("eth_getBlockByNumber", ["pending", false])) as { transactions?: string[] } | null;
    if ((pendingBlock?.transactions?.length ?? 0) === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  const usage = cpu.stop();
  await setIntervalMining(provider, chainKind, undefined);
  const lastBlock = await provider.getBlockNumber();
  let mined = 0;
  for (let n = firstBlock; n <= lastBlock; n++) mined += (await provider.getBlock(n))?.transactions.length ?? 0;
  return {
    transactions: mined,
    txPerSec: mined / seconds,
    cpuMsPerTx: (1000 * usage.chainNodeCpuSeconds) / Math.max(1, mined),
    chainNodeCpuPct: usage.chainNodeCpuPct,
    machineBusyPct: usage.machineBusyPct,
    wallSeconds: seconds,
    /**
     * Finalized requests per second this chain process could carry at 7 transactions each (request, 3 commits,
     * 3 reveals: every member reveals, also after the quorum), ignoring every read.
     */
    reqPerSecCeiling: mined / seconds / 7,
  };
}

/**
 * The oracle processes that serve the validators: one for all of them (as a single operator would run them), or one
 * per validator with its own key, data dir and HTTP port (`--processes`, as separate machines would).
 */
async function startOracles(network: LocalNetwork, options: { perValidator: boolean; apiKeysFile: string; pollMs: number; heads: Options["heads"] }) {
  const { node: chain, dir, validators, deploymentsFile } = network;
  const groups = options.perValidator ? validators.map((v) => [v]) : [validators];
  const ports = await Promise.all(groups.map(() => freePort()));
  const running: (OracleProcess | undefined)[] = groups.map(() => undefined);
  const start = async (index: number) => {
    const name = groups.length === 1 ? "oracle" : `oracle-${index + 1}`;
    const args = [
      "--rpc-url", chain.url,
      "--deployments", deploymentsFile,
      "--data-dir", path.join(dir, name),
      "--http-port", String(ports[index]),
      "--poll-interval-ms", String(options.pollMs),
      ...(options.heads === "ws" ? ["--ws-url", chain.wsUrl] : []),
      "--log-level", process.env.BENCH_ORACLE_LOG_LEVEL ?? "warn",
      "--api-keys", options.apiKeysFile,
    ];
    // Keys through the environment: the node refuses secrets on its command line (visible in ps).
    const env = { ORACLE_VALIDATOR_KEYS: groups[index].map((v) => v.privateKey).join(",") };
    // Many processes loading their model at once on a small machine take a while.
    running[index] = await startOracleProcess({ args, env, url: `http://127.0.0.1:${ports[index]}`, logFile: path.join(dir, `${name}.log`), readyTimeoutMs: 300_000 });
  };
  const stopAll = async () => {
    await Promise.all(running.map((p) => p?.stop()));
    running.fill(undefined);
  };
  const starts = await Promise.allSettled(groups.map((_, index) => start(index)));
  const failed = starts.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    await stopAll(); // the ones that did start
    throw failed.reason;
  }
  return {
    count: groups.length,
    /** The first process's API (the streaming phase's node). */
    url: `http://127.0.0.1:${ports[0]}`,
    pgids: () => running.filter((p): p is OracleProcess => p !== undefined).map((p) => p.pid),
    /** SIGKILL to process `index` (a crash), then the same process started again on the same data dir and port. */
    async killAndRestart(index: number) {
      await running[index]?.kill();
      running[index] = undefined;
      await start(index);
    },
    stop: stopAll,
  };
}

async function main() {
  const options = parseOptions();
  const { requests, latencyRequests, latencyRate, aloneTransactions, chainLogging, chain: chainKind, blockMs } = options;
  // Offered above what the system finalizes, or the phase measures the offer instead: on anvil the oracles finalize
  // more than 40 a second; on a hardhat node the chain process takes fewer than 20.
  const rate = options.rate ?? DEFAULT_RATE[chainKind];
  const seed = options.seed ?? 1 + Math.floor(Math.random() * 1e6);
  // 0 skips the kill -9 phase (a quicker look at throughput and latency alone).
  const killRequests = options.killRequests ?? requests;
  const random = seededRandom(seed);
  // Long windows: an automining node stamps each block ≥ 1 s after its parent, so chain time runs ahead under load.
  // The dev node prints every JSON-RPC call and transaction to its console (which this process then reads from a
  // pipe); a node serving an oracle does not, and the printing costs the chain process CPU on every call. Off for
  // every phase, the chain-alone one included, so the phases stay comparable. `--chain-logging` keeps it on.
  const network = await startLocalNetwork({
    chain: chainKind,
    config: { committeeSize: options.committee, quorum: options.quorum, maxAttempts: 3 },
    // 100, 200, 300, … tokens: unequal, so the committee draw (weighted by stake) is not uniform.
    stakes: Array.from({ length: options.validators }, (_, i) => BigInt(100 * (i + 1))),
    commitWindow: 86_400,
    revealWindow: 86_400,
    dirPrefix: "bench-e2e-",
    chainLogging: Boolean(chainLogging),
  });
  const { node: chain, provider, deployment, dir } = network;
  let oracles: Awaited<ReturnType<typeof startOracles>> | undefined;
  try {
    // POST /v1/chat/completions needs an API key: one for this run, in a file the node reads.
    const apiKey = randomBytes(18).toString("base64url");
    const apiKeysFile = path.join(dir, "api-keys");
    fs.writeFileSync(apiKeysFile, `${apiKey}\n`, { mode: 0o600 });
    oracles = await startOracles(network, { perValidator: Boolean(options.processes), apiKeysFile, pollMs: options.pollMs, heads: options.heads });
    const fleet = oracles;
    process.stdout.write(
      `bench:e2e  seed ${seed}, ${options.validators} validators in ${fleet.count} oracle process${fleet.count === 1 ? "" : "es"}, ` +
        `committee ${options.committee}/quorum ${options.quorum}, ${requests} requests per phase at ${rate} req/s offered, logs in ${dir}\n`,
    );
    const context: PhaseContext = { provider, deployment, pgids: () => ({ chain: chain.pid, oracles: fleet.pgids() }) };

    // Throughput: automine off, one block every blockMs, so requests, commits and reveals share blocks.
    await setIntervalMining(provider, chainKind, blockMs);
    const steady = await runPhase(context, { requests, rate, label: "steady", random, pipelined: true });
    process.stdout.write(`throughput (interval ${blockMs} ms): ${JSON.stringify(roundAll(steady))}\n`);
    await setIntervalMining(provider, chainKind, undefined);
    const latency = await runPhase(context, { requests: latencyRequests, rate: latencyRate, label: "latency", random });
    process.stdout.write(`latency (automine): ${JSON.stringify(roundAll(latency))}\n`);
    const streaming = options.streamRequests ? await runStreamingPhase({ url: fleet.url, apiKey, requests: options.streamRequests }) : undefined;
    if (streaming) process.stdout.write(`streaming (SSE, ${streaming.maxTokens} tokens each): ${JSON.stringify(streaming)}\n`);
    const withKills = killRequests
      ? await runPhase(context, {
          requests: killRequests,
          rate: options.killRate,
          label: "kills",
          random,
          // One process: it is the one killed (no draw, so a seed gives the kill times it gave before --processes).
          kill: { killAndRestart: () => fleet.killAndRestart(fleet.count === 1 ? 0 : Math.floor(random() * fleet.count)) },
        })
      : undefined;
    if (withKills) process.stdout.write(`kills:  ${JSON.stringify(roundAll(withKills))}\n`);
    const poison = options.poisonRounds
      ? await runPoisonPhase({ provider, deployment, user: devAccount(10), deployer: devAccount(0), rounds: options.poisonRounds, windowSeconds: 86_400 })
      : undefined;
    if (poison) process.stdout.write(`poison: ${JSON.stringify(poison)}\n`);
    await fleet.stop();
    const chainAlone = await measureChainAlone(context, aloneTransactions, blockMs, chainKind);
    process.stdout.write(`chain alone (interval ${blockMs} ms, no oracle): ${JSON.stringify(roundAll(chainAlone))}\n`);

    const result = {
      ...provenance(npmCommand("bench:e2e")),
      chain: chainKind,
      validators: options.validators,
      /** Oracle processes serving them: 1 (all in one) or one per validator. */
      processes: fleet.count,
      reqPerSec: round(steady.reqPerSec),
      sustainedReqPerSec: round(steady.sustainedReqPerSec),
      reqPerSecMining: `interval mining, one block every ${blockMs} ms (evm_setAutomine false + ${
        minesByTimer(chainKind, blockMs) ? "the benchmark's evm_mine timer" : "evm_setIntervalMining"
      })`,
      latencyMining: "automine (one block per transaction)",
      p50Ms: round(latency.p50Ms),
      p95Ms: round(latency.p95Ms),
      requests: withKills?.requests ?? 0,
      kills: withKills?.kills ?? 0,
      lost: (withKills?.lost ?? 0) + steady.lost + latency.lost,
      doubleFinalized: (withKills?.doubleFinalized ?? 0) + steady.doubleFinalized + latency.doubleFinalized,
      chainNodeCpuPct: round(steady.chainNodeCpuPct),
      throughput: roundAll(steady),
      latency: roundAll(latency),
      withKills: withKills && roundAll(withKills),
      chainAlone: roundAll(chainAlone),
      streaming: streaming && {
        ...roundAll({ requests: streaming.requests, ttftMsP50: streaming.ttftMsP50, ttftMsP95: streaming.ttftMsP95, tokensPerSecond: streaming.tokensPerSecond, completionMsP50: streaming.completionMsP50, meanCompletionTokens: streaming.meanCompletionTokens }),
        maxTokens: streaming.maxTokens,
        // Render times are microseconds: kept unrounded, like the overhead they give.
        templateRenderMs: streaming.templateRenderMs,
        templateOverheadPct: streaming.templateOverheadPct,
      },
      poison,
      setup: {
        validators: options.validators,
        oracleProcesses: fleet.count,
        committee: options.committee,
        quorum: options.quorum,
        model: "tiny (npm run model:build -- --preset tiny)",
        maxNewTokens: 8,
        offeredRate: rate,
        killOfferedRate: options.killRate,
        latencyOfferedRate: latencyRate,
        blockIntervalMs: blockMs,
        oraclePollMs: options.pollMs,
        /** How the oracles learn of blocks: newHeads over WebSocket, or head polls every oraclePollMs. */
        heads: options.heads,
        seed,
        cpus: os.cpus().length,
        loadAverage: os.loadavg().map(round),
      },
    };
    const table = [
      ["phase", "mining", "requests", "req/s", "steady/s", "p50 ms", "p95 ms", "kills", "lost", "double", "chain %", "oracle %"],
      ...[["interval", `${blockMs} ms`, steady], ["latency", "automine", latency], ["kill -9", "automine", withKills]]
        .filter(([, , r]) => r !== undefined)
        .map(([name, mining, r]) => {
          const p = r as PhaseResult;
          return [name as string, mining as string, p.requests, round(p.reqPerSec), round(p.sustainedReqPerSec), round(p.p50Ms), round(p.p95Ms), p.kills, p.lost, p.doubleFinalized, round(p.chainNodeCpuPct), round(p.oracleCpuPct)].map(String);
        }),
    ];
    for (const row of table) process.stdout.write(`${row.map((c, i) => (i === 0 ? c.padEnd(8) : c.padStart(9))).join(" ")}\n`);
    const out = options.out ? path.resolve(options.out) : path.join(REPO_ROOT, "bench/out/e2e.json");
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`wrote ${out.startsWith(`${REPO_ROOT}${path.sep}`) ? path.relative(REPO_ROOT, out) : out}\n`);
  } finally {
    await oracles?.stop();
    await network.stop();
  }
}

const round = (x: number) => Math.round(x * 10) / 10;
const roundAll = (r: object) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v as number)]));

main().catch((error) => {
  process.stderr.write(`bench:e2e failed: ${(error as Error).stack}\n`);
  process.exit(1);
});
