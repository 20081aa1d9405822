/**
 * `npm run bench:e2e`: the oracle end to end on this machine — a `hardhat node` process (automine except in the interval phase), the contracts,
 * 3 staked validators served by one oracle process (tiny model, one shared engine), committee 3 / quorum 2.
 *
 * Phase "interval": N requests offered at R req/s while the chain mines a block every B ms (automine off, many
 *                   transactions share a block, like a real chain) → sustained finalized requests/s.
 * Phase "latency":  M requests at a low offered rate under automine → request→finalized latency without queueing.
 * Phase "kills":    N more requests while the oracle process is killed with SIGKILL at random moments (until all are
 *                   final) and restarted → kills, lost requests (never finalized), requests finalized twice (both 0).
 * Writes bench/out/e2e.json. Options: --requests N (200), --rate R req/s offered (40), --latency-requests M (50),
 * --latency-rate r (2), --block-ms B (250), --seed S. The interval phase runs first, so it also warms the node up
 * for the latency phase (as the old automine saturation phase did).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Contract, NonceManager, type JsonRpcProvider, ZeroAddress } from "ethers";
import { createProvider } from "../oracle/src/chain/rpc";
import { ensureTinyModel } from "../oracle/src/inference";
import { DEFAULT_TINY_MODEL_DIR } from "../oracle/src/inference/buildModel";
import { devAccount } from "../scripts/demo/accounts";
import { deployToNode } from "../scripts/demo/deploy";
import { REPO_ROOT, freePort, startHardhatNode } from "../scripts/demo/hardhatNode";
import { stakeValidators } from "../scripts/demo/network";
import { type OracleProcess, startOracleProcess } from "../scripts/demo/oracleProcess";
import type { Deployment } from "../scripts/lib/deploy";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`bench:e2e: --${name} must be a positive number\n`);
    process.exit(2);
  }
  return value;
}

function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);

interface PhaseResult {
  requests: number;
  reqPerSec: number;
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
}

/** Watches RecordFinalized events and notes when each request was first seen final (wall clock). */
function watchFinalizations(provider: JsonRpcProvider, deployment: Deployment, fromBlock: number) {
  const chat = new Contract(deployment.addresses.ChatRecordRegistry, deployment.abis.ChatRecordRegistry as never, provider);
  const topic = chat.interface.getEvent("RecordFinalized")!.topicHash;
  const firstSeen = new Map<bigint, number>();
  const count = new Map<bigint, number>();
  let next = fromBlock;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const head = await provider.getBlockNumber();
        if (head >= next) {
          const logs = await provider.getLogs({ address: deployment.addresses.ChatRecordRegistry, topics: [topic], fromBlock: next, toBlock: head });
          const now = performance.now();
          for (const log of logs) {
            const id = chat.interface.parseLog(log)!.args.requestId as bigint;
            count.set(id, (count.get(id) ?? 0) + 1);
            if (!firstSeen.has(id)) firstSeen.set(id, now);
          }
          next = head + 1;
        }
      } catch {
        // the chain is local; a failed poll is retried
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return {
    firstSeen,
    count,
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function runPhase(options: {
  provider: JsonRpcProvider;
  deployment: Deployment;
  requests: number;
  rate: number;
  label: string;
  random: () => number;
  kill?: { restart: () => Promise<void>; killNow: () => Promise<void> };
  /** Interval mining: each lane sends without waiting for its previous receipt (a pending nonce queues in the pool). */
  pipelined?: boolean;
}): Promise<PhaseResult> {
  const { provider, deployment, requests, rate } = options;
  const senderIndices = options.pipelined ? [10, 11, 12, 13, 14, 15, 16, 17, 18, 19] : [10, 11, 12, 13];
  const senders = senderIndices.map((i) => new NonceManager(devAccount(i).connect(provider)));
  const chats = senders.map((s) => new Contract(deployment.addresses.ChatRecordRegistry, deployment.abis.ChatRecordRegistry as never, s));
  const fee = (await chats[0].getConfig()).minimumFee as bigint;
  const firstBlock = (await provider.getBlockNumber()) + 1;
  const watcher = watchFinalizations(provider, deployment, firstBlock - 1);
  const sentAt = new Map<bigint, number>();
  let kills = 0;
  let killing = options.kill !== undefined;
  // Kills land at random moments until every request of the phase is final (so also during catch-up after restarts).
  const killer = options.kill
    ? (async () => {
        while (killing) {
          await new Promise((r) => setTimeout(r, 500 + options.random() * 2_500));
          if (!killing) break;
          await options.kill!.killNow();
          kills++;
          await options.kill!.restart();
        }
      })()
    : Promise.resolve();

  const started = performance.now();
  // One lane per sender account: a lane sends its transactions one after another (an automining node rejects a
  // nonce gap), the lanes run side by side, and request i leaves no earlier than i / rate seconds after the start.
  // Under interval mining a lane only waits for the node to accept the transaction, so nonces stay in order while
  // receipts arrive in later blocks; the receipts are awaited side by side.
  const lanes: Promise<void>[] = chats.map(() => Promise.resolve());
  const receipts: Promise<void>[] = [];
  for (let i = 0; i < requests; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const lane = i % chats.length;
    const chat = chats[lane];
    const send = async () => {
      const t0 = performance.now();
      const tx = await chat.requestChat(deployment.modelId, `${options.label} request ${i}: what comes next?`, 8, ZeroAddress, 0, {
        value: fee,
        gasLimit: 1_500_000,
      });
      const noteRequestId = async () => {
        const receipt = await tx.wait();
        for (const log of receipt!.logs) {
          const parsed = chat.interface.parseLog(log);
          if (parsed?.name === "ChatRequested") sentAt.set(parsed.args.requestId as bigint, t0);
        }
      };
      if (options.pipelined) receipts.push(noteRequestId());
      else await noteRequestId();
    };
    lanes[lane] = lanes[lane].then(send);
    if (i % chats.length === chats.length - 1) await Promise.race(lanes);
  }
  await Promise.all(lanes);
  await Promise.all(receipts);

  const deadline = performance.now() + 600_000;
  while (performance.now() < deadline && [...sentAt.keys()].some((id) => !watcher.firstSeen.has(id))) {
    await new Promise((r) => setTimeout(r, 50));
  }
  killing = false;
  await killer;
  await new Promise((r) => setTimeout(r, 500)); // a late duplicate finalization would show up here
  await watcher.stop();

  const lastBlock = await provider.getBlockNumber();
  const blockList = await Promise.all(
    Array.from({ length: Math.max(0, lastBlock - firstBlock + 1) }, (_, k) => provider.getBlock(firstBlock + k)),
  );
  const mined = blockList.filter((b) => b !== null);
  const txCount = mined.reduce((n, b) => n + b.transactions.length, 0);
  const gasUsed = mined.reduce((n, b) => n + Number(b.gasUsed), 0);
  const ids = [...sentAt.keys()];
  const latencies = ids.filter((id) => watcher.firstSeen.has(id)).map((id) => watcher.firstSeen.get(id)! - sentAt.get(id)!).sort((a, b) => a - b);
  const lastFinal = Math.max(...ids.map((id) => watcher.firstSeen.get(id) ?? 0));
  const wallSeconds = (lastFinal - started) / 1000;
  return {
    requests: ids.length,
    reqPerSec: latencies.length / wallSeconds,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    lost: ids.filter((id) => !watcher.firstSeen.has(id)).length,
    doubleFinalized: ids.filter((id) => (watcher.count.get(id) ?? 0) > 1).length,
    kills,
    wallSeconds,
    blocks: mined.length,
    txPerBlock: mined.length ? txCount / mined.length : 0,
    gasUsedPerBlock: mined.length ? gasUsed / mined.length : 0,
  };
}

async function main() {
  const requests = arg("requests", 200);
  const rate = arg("rate", 40);
  const seed = arg("seed", 1 + Math.floor(Math.random() * 1e6));
  const latencyRequests = arg("latency-requests", 50);
  const latencyRate = arg("latency-rate", 2);
  const blockMs = arg("block-ms", 250);
  const random = prng(seed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-e2e-"));
  const modelDir = await ensureTinyModel(DEFAULT_TINY_MODEL_DIR);
  const chain = await startHardhatNode();
  const provider = createProvider(chain.url, 31337);
  let oracle: OracleProcess | undefined;
  try {
    // Long windows: an automining node stamps each block ≥ 1 s after its parent, so chain time runs ahead under load.
    const deployment = await deployToNode(provider, devAccount(0), "localhost", {
      outDir: dir,
      write: true,
      redeploy: true,
      modelDir,
      commitWindow: 86_400,
      revealWindow: 86_400,
      config: { committeeSize: 3, quorum: 2, maxAttempts: 3 },
    });
    const validators = [1, 2, 3].map(devAccount);
    await stakeValidators(provider, deployment, validators.map((wallet, i) => ({ wallet, tokens: BigInt(100 * (i + 1)), endpoint: "http://127.0.0.1:1" })));
    const port = await freePort();
    const args = [
      "--rpc-url", chain.url,
      "--deployments", path.join(dir, "localhost.json"),
      "--data-dir", path.join(dir, "oracle"),
      "--http-port", String(port),
      "--poll-interval-ms", "20",
      "--log-level", "warn",
      ...validators.flatMap((v) => ["--validator-key", v.privateKey]),
    ];
    const start = async () => {
      oracle = await startOracleProcess({ args, url: `http://127.0.0.1:${port}`, logFile: path.join(dir, "oracle.log") });
    };
    await start();
    process.stdout.write(`bench:e2e  seed ${seed}, ${requests} requests per phase at ${rate} req/s offered, logs in ${dir}\n`);

    // Throughput: automine off, one block every blockMs, so requests, commits and reveals share blocks.
    await provider.send("evm_setAutomine", [false]);
    await provider.send("evm_setIntervalMining", [blockMs]);
    const steady = await runPhase({ provider, deployment, requests, rate, label: "steady", random, pipelined: true });
    process.stdout.write(`throughput (interval ${blockMs} ms): ${JSON.stringify(steady)}\n`);
    await provider.send("evm_setIntervalMining", [0]);
    await provider.send("evm_setAutomine", [true]);
    const latency = await runPhase({ provider, deployment, requests: latencyRequests, rate: latencyRate, label: "latency", random });
    process.stdout.write(`latency (automine): ${JSON.stringify(latency)}\n`);
    const withKills = await runPhase({
      provider,
      deployment,
      requests,
      rate,
      label: "kills",
      random,
      kill: { killNow: async () => oracle?.kill(), restart: start },
    });
    process.stdout.write(`kills:  ${JSON.stringify(withKills)}\n`);

    const result = {
      reqPerSec: round(steady.reqPerSec),
      reqPerSecMining: `interval mining, one block every ${blockMs} ms (evm_setAutomine false + evm_setIntervalMining ${blockMs})`,
      latencyMining: "automine (one block per transaction)",
      p50Ms: round(latency.p50Ms),
      p95Ms: round(latency.p95Ms),
      requests: withKills.requests,
      kills: withKills.kills,
      lost: withKills.lost + steady.lost + latency.lost,
      doubleFinalized: withKills.doubleFinalized + steady.doubleFinalized + latency.doubleFinalized,
      throughput: roundAll(steady),
      latency: roundAll(latency),
      withKills: roundAll(withKills),
      setup: {
        validators: 3,
        committee: 3,
        quorum: 2,
        model: "tiny (npm run model:build -- --preset tiny)",
        maxNewTokens: 8,
        offeredRate: rate,
        latencyOfferedRate: latencyRate,
        blockIntervalMs: blockMs,
        seed,
        cpus: os.cpus().length,
        loadAverage: os.loadavg().map(round),
      },
    };
    const table = [
      ["phase", "mining", "requests", "req/s", "p50 ms", "p95 ms", "kills", "lost", "double"],
      ...[["interval", `${blockMs} ms`, steady], ["latency", "automine", latency], ["kill -9", "automine", withKills]].map(([name, mining, r]) => {
        const p = r as PhaseResult;
        return [name as string, mining as string, p.requests, round(p.reqPerSec), round(p.p50Ms), round(p.p95Ms), p.kills, p.lost, p.doubleFinalized].map(String);
      }),
    ];
    for (const row of table) process.stdout.write(`${row.map((c, i) => (i === 0 ? c.padEnd(8) : c.padStart(9))).join(" ")}\n`);
    fs.mkdirSync(path.join(REPO_ROOT, "bench/out"), { recursive: true });
    fs.writeFileSync(path.join(REPO_ROOT, "bench/out/e2e.json"), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write("wrote bench/out/e2e.json\n");
  } finally {
    await oracle?.stop();
    provider.destroy();
    await chain.stop();
  }
}

const round = (x: number) => Math.round(x * 10) / 10;
const roundAll = (r: PhaseResult) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)]));

main().catch((error) => {
  process.stderr.write(`bench:e2e failed: ${(error as Error).stack}\n`);
  process.exit(1);
});
