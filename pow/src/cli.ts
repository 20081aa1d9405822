/**
 * `npm run sim -- <command>`: the PoW/PoS simulator's command line.
 *   header <hex>       verify one 80-byte Bitcoin header (exit 0 VALID, 1 INVALID)
 *   mine               mine toy-chain blocks with real SHA-256 across worker threads
 *   pow | pos          one simulation run
 *   compare            Monte Carlo comparison, writes reports/<name>/
 * Bad options print one line and exit 2.
 */
import { Command, CommanderError, Option } from "commander";
import { SingleBar, Presets } from "cli-progress";
import path from "node:path";
import { ZodError } from "zod";
import { Blockchain } from "./chain/blockchain";
import { TargetError } from "./chain/target";
import { headerFromHex, HeaderFormatError, verifyHeader } from "./header/bitcoinHeader";
import { gini, nakamotoCoefficient } from "./metrics/inequality";
import { MiningPool } from "./mining/parallelMiner";
import { CompareConfigSchema, DEFAULT_COMPARE, runCompare } from "./sim/compare";
import { DEFAULT_POS_SIM, simulatePos } from "./sim/posChain";
import { DEFAULT_POW_SIM, simulatePow } from "./sim/powNetwork";
import { WealthError } from "./sim/wealth";
import { writeCompareReport } from "./report/compareReport";
import { integerOption, numberListOption, numberOption } from "../../oracle/src/cli/support";
import { DISTRIBUTIONS, UsageError, wealthFromOptions } from "./cli/options";
import type { WealthOptions } from "./cli/options";

const EXIT_INVALID = 1;
const EXIT_USAGE = 2;

function progressBar(total: number, label: string, enabled: boolean): { update(n: number): void; stop(): void } {
  if (!enabled || !process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left`, hideCursor: true }, Presets.shades_classic);
  bar.start(total, 0);
  return { update: (n) => bar.update(n), stop: () => bar.stop() };
}

function addWealthOptions(command: Command): Command {
  return command
    .option("--miners <n>", "number of participants (miners = validators)", integerOption(), 10)
    .addOption(new Option("--distribution <name>", "how hashrate = stake is spread").choices(DISTRIBUTIONS).default("pareto"))
    .option("--hashrates <list>", "comma-separated hashrates in H/s (overrides --miners/--distribution)", numberListOption)
    .option("--hashrates-file <path>", "hashrates from a file (numbers separated by commas/whitespace, or a JSON array)")
    .option("--total-hashrate <H/s>", "total hashrate generated distributions are scaled to", numberOption(), 1e15)
    .option("--seed <seed>", "seed of every random choice (same seed, same result)", "1")
    .option("--json", "print the result as JSON");
}

const print = (json: boolean, value: unknown, text: () => string) => console.log(json ? JSON.stringify(value, null, 2) : text());
const fmtPct = (x: number) => `${(x * 100).toFixed(2)}%`;

function shareTable(rows: Array<{ initialShare: number; rewardShare: number }>, limit = 10): string {
  const ordered = rows.map((r, i) => ({ ...r, i })).sort((a, b) => b.initialShare - a.initialShare).slice(0, limit);
  return ["  #     power share  reward share", ...ordered.map((r) => `  ${String(r.i).padEnd(5)} ${fmtPct(r.initialShare).padStart(11)}  ${fmtPct(r.rewardShare).padStart(12)}`)].join("\n");
}

/** `outcome.exitCode` is set by commands whose result is a verdict (header: 1 when INVALID). */
export function buildProgram(outcome: { exitCode: number } = { exitCode: 0 }): Command {
  const program = new Command("sim").description("PoW/PoS simulator: Bitcoin headers, real mining, network simulation, PoW vs PoS report")
    .exitOverride().configureOutput({ outputError: (message, write) => write(message.trim().split("\n")[0] + "\n") });

  program.command("header").description("verify one hex-encoded 80-byte Bitcoin header (exit 0 VALID, 1 INVALID)")
    .argument("<hex>", "160 hex characters").option("--json", "print the verdict as JSON")
    .action((hex: string, options: { json?: boolean }) => {
      const verdict = verifyHeader(headerFromHex(hex));
      print(!!options.json, verdict, () => [
        `hash   ${verdict.hash}`, `target ${verdict.target} (bits 0x${verdict.bits})`,
        verdict.valid ? "VALID" : `INVALID: ${verdict.reason}`,
      ].join("\n"));
      if (!verdict.valid) outcome.exitCode = EXIT_INVALID;
    });

  program.command("mine").description("mine toy-chain blocks with real double SHA-256 across worker threads")
    .option("--k <bits>", "difficulty: leading zero bits (W = 2^k hashes per block on average)", integerOption(), 24)
    .option("--blocks <n>", "blocks to mine", integerOption(), 3)
    .option("--workers <n>", "worker threads (default: one per core)", integerOption())
    .option("--json", "print the result as JSON")
    .action(async (options: { k: number; blocks: number; workers?: number; json?: boolean }) => {
      if (options.k < 0 || options.k > 40) throw new UsageError(`--k must be in [0, 40] for real mining, got ${options.k}`);
      if (options.blocks < 1) throw new UsageError(`--blocks must be positive, got ${options.blocks}`);
      const chain = new Blockchain({ difficultyBits: options.k });
      const pool = new MiningPool(options.workers);
      const mined: Array<{ index: number; hash: string; hashes: number; hashesPerSec: number }> = [];
      try {
        for (let i = 0; i < options.blocks; i++) {
          const bar = progressBar(2 ** options.k, `block ${i + 1}/${options.blocks} (expected hashes)`, !options.json);
          const { block, hashes, hashesPerSec } = await chain.mine(pool, "cli-miner", (p) => bar.update(Math.min(p.hashes, 2 ** options.k)));
          bar.stop();
          mined.push({ index: block.index, hash: block.hash, hashes, hashesPerSec });
          if (!options.json) console.log(`block ${block.index} ${block.hash} after ${hashes} hashes at ${(hashesPerSec / 1e6).toFixed(2)} MH/s (${pool.size} threads)`);
        }
      } finally {
        await pool.close();
      }
      const verdict = chain.validate();
      if (options.json) console.log(JSON.stringify({ workers: pool.size, blocks: mined, validation: verdict }, null, 2));
      else console.log(verdict.valid ? `chain of ${verdict.length} blocks is valid` : `chain INVALID: ${verdict.reason}`);
    });

  addWealthOptions(program.command("pow").description("simulate a PoW network (no hashing: exponential block times)"))
    .option("--blocks <n>", "main-chain blocks to simulate", integerOption(), DEFAULT_POW_SIM.blocks)
    .option("--delay <s>", "mean propagation delay in seconds", numberOption(), DEFAULT_POW_SIM.delaySeconds)
    .addOption(new Option("--delay-model <model>", "fixed or exponential delays").choices(["fixed", "exponential"]).default(DEFAULT_POW_SIM.delayModel))
    .option("--block-time <s>", "target seconds between blocks", numberOption(), DEFAULT_POW_SIM.targetBlockTime)
    .option("--k <bits>", "initial difficulty in leading zero bits (default: matches the total hashrate)", integerOption())
    .option("--retarget-interval <n>", "blocks per retarget, 0 = never", integerOption(), 144)
    .option("--selfish <index>", "index of a selfish miner", integerOption())
    .action((options: WealthOptions & { blocks: number; delay: number; delayModel: "fixed" | "exponential"; blockTime: number; k?: number; retargetInterval: number; selfish?: number; json?: boolean }) => {
      const hashrates = wealthFromOptions(options);
      const bar = progressBar(options.blocks, "blocks", !options.json);
      const result = simulatePow({
        ...DEFAULT_POW_SIM, hashrates, blocks: options.blocks, delaySeconds: options.delay, delayModel: options.delayModel,
        targetBlockTime: options.blockTime, difficultyBits: options.k, retargetInterval: options.retargetInterval,
        selfishMiner: options.selfish, seed: options.seed,
      }, (h) => bar.update(h));
      bar.stop();
      const rewards = result.miners.map((m) => m.mainChainBlocks);
      print(!!options.json, result, () => [
        `${result.miners.length} miners, ${result.mainChainBlocks} main-chain blocks, ${result.blocksFound} found, stale rate ${fmtPct(result.staleRate)}`,
        `mean interval ${result.meanIntervalSeconds.toFixed(1)} s over ${(result.durationSeconds / 86400).toFixed(2)} days; ${result.hashesPerMainChainBlock.toExponential(3)} hashes per block`,
        `Gini of rewards ${gini(rewards).toFixed(3)}, Nakamoto coefficient ${nakamotoCoefficient(rewards)}`,
        ...(result.selfish ? [`selfish miner ${result.selfish.miner}: ${fmtPct(result.selfish.hashrateShare)} of hashrate, ${fmtPct(result.selfish.rewardShare)} of blocks`] : []),
        shareTable(result.miners),
      ].join("\n"));
    });

  addWealthOptions(program.command("pos").description("simulate stake-weighted proposer selection with the sortition tree"))
    .option("--slots <n>", "slots to simulate", integerOption(), DEFAULT_POS_SIM.slots)
    .option("--reward <fraction>", "reward per slot as a fraction of the initial total stake", numberOption(), DEFAULT_POS_SIM.rewardPerSlot)
    .option("--no-compound", "pay rewards aside instead of adding them to stake")
    .action((options: WealthOptions & { slots: number; reward: number; compound: boolean; json?: boolean }) => {
      const stakes = wealthFromOptions(options);
      const bar = progressBar(options.slots, "slots", !options.json);
      const result = simulatePos({ ...DEFAULT_POS_SIM, stakes, slots: options.slots, rewardPerSlot: options.reward, compounding: options.compound, seed: options.seed }, (s) => bar.update(s));
      bar.stop();
      const won = result.validators.map((v) => v.slotsWon);
      print(!!options.json, result, () => [
        `${result.validators.length} validators, ${result.slots} slots, rewards ${result.compounding ? "compounding into stake" : "paid aside"}`,
        `Gini of rewards ${gini(won).toFixed(3)}, Nakamoto coefficient ${nakamotoCoefficient(won)}; final stake Gini ${gini(result.validators.map((v) => v.finalStakeShare)).toFixed(3)}`,
        shareTable(result.validators),
      ].join("\n"));
    });

  addWealthOptions(program.command("compare").description("PoW vs PoS Monte Carlo comparison; writes reports/<name>/"))
    .option("--name <name>", "report folder name (default: compare-<seed>)")
    .option("--out-dir <dir>", "parent folder of reports", "reports")
    .option("--runs <n>", "Monte Carlo runs per system", integerOption(), DEFAULT_COMPARE.runs)
    .option("--blocks <n>", "blocks per PoW run = slots per PoS run", integerOption(), DEFAULT_COMPARE.blocks)
    .option("--delay <s>", "PoW propagation delay", numberOption(), DEFAULT_COMPARE.delaySeconds)
    .option("--delays <list>", "delays for the stale-rate sweep", numberListOption, DEFAULT_COMPARE.delaySweep)
    .option("--sweep-runs <n>", "runs per delay of the sweep", integerOption(), DEFAULT_COMPARE.sweepRuns)
    .option("--block-time <s>", "PoW target block time", numberOption(), DEFAULT_COMPARE.targetBlockTime)
    .option("--retarget-interval <n>", "PoW blocks per retarget, 0 = never", integerOption(), DEFAULT_COMPARE.retargetInterval)
    .option("--selfish <index>", "index of a selfish miner", integerOption())
    .option("--reward <fraction>", "PoS reward per slot, fraction of initial total stake", numberOption(), DEFAULT_COMPARE.rewardPerSlot)
    .option("--epsilon <x>", "ε of (ε, δ)-fairness", numberOption(), DEFAULT_COMPARE.epsilon)
    .option("--delta <x>", "δ of (ε, δ)-fairness", numberOption(), DEFAULT_COMPARE.delta)
    .action(async (options: WealthOptions & {
      name?: string; outDir: string; runs: number; blocks: number; delay: number; delays: number[]; sweepRuns: number; blockTime: number;
      retargetInterval: number; selfish?: number; reward: number; epsilon: number; delta: number; json?: boolean;
    }) => {
      const name = options.name ?? `compare-${options.seed}`;
      if (!/^[\w.-]+$/.test(name)) throw new UsageError(`--name may only hold letters, digits, '.', '_' and '-', got "${name}"`);
      const config = CompareConfigSchema.parse({
        wealth: wealthFromOptions(options), seed: options.seed, runs: options.runs, blocks: options.blocks, delaySeconds: options.delay,
        delaySweep: options.delays, sweepRuns: options.sweepRuns, targetBlockTime: options.blockTime, retargetInterval: options.retargetInterval,
        selfishMiner: options.selfish, rewardPerSlot: options.reward, epsilon: options.epsilon, delta: options.delta,
      });
      let bar: ReturnType<typeof progressBar> | undefined;
      const results = runCompare(config, (done, total) => {
        bar ??= progressBar(total, "simulations", !options.json);
        bar.update(done);
      });
      bar?.stop();
      const command = `npm run sim -- ${process.argv.slice(2).join(" ")}`;
      const files = await writeCompareReport(results, path.join(options.outDir, name), command);
      print(!!options.json, results, () => [
        ...[results.pow, results.posCompounding, results.posSimple].map((s) =>
          `${s.label.padEnd(22)} max|E[λ]/a-1| ${s.fairness.worstExpectationalDeviation.toFixed(3)}  (ε,δ)-fair ${s.fairness.robustlyFairCount}/${s.fairness.participants.length}  Gini ${s.rewardGini.toFixed(3)}`),
        `PoW stale rate ${fmtPct(results.pow.staleRate)}; selection cost: ${results.selectionCost.powHashesPerBlock.toExponential(3)} hashes/block vs ${results.selectionCost.posGasPerDraw} gas/draw`,
        `wrote ${files.join(", ")}`,
      ].join("\n"));
    });

  return program;
}

/** Configuration fields as the options that set them, so an error names what the user typed. */
const OPTION_OF_FIELD: Record<string, string> = {
  difficultyBits: "--k", hashrates: "--hashrates", stakes: "--hashrates", wealth: "--hashrates", blocks: "--blocks", slots: "--slots",
  delaySeconds: "--delay", delaySweep: "--delays", targetBlockTime: "--block-time", retargetInterval: "--retarget-interval",
  selfishMiner: "--selfish", rewardPerSlot: "--reward", runs: "--runs", sweepRuns: "--sweep-runs", epsilon: "--epsilon", delta: "--delta",
};

/** One line for any error caused by the user's input, and the exit code to use. */
export function describeError(error: unknown): { message: string; code: number } {
  if (error instanceof ZodError) {
    const issue = error.issues[0];
    const field = String(issue.path[0] ?? "");
    const where = OPTION_OF_FIELD[field] ?? issue.path.join(".");
    return { message: `error: ${where ? where + ": " : ""}${issue.message}`, code: EXIT_USAGE };
  }
  if (error instanceof UsageError || error instanceof WealthError || error instanceof TargetError || error instanceof HeaderFormatError) {
    return { message: `error: ${error.message}`, code: EXIT_USAGE };
  }
  if (error instanceof Error && "code" in error && (error as NodeJS.ErrnoException).code === "ENOENT") {
    return { message: `error: ${error.message}`, code: EXIT_USAGE };
  }
  return { message: `error: ${error instanceof Error ? error.message : String(error)}`, code: 3 };
}

export async function main(argv: string[]): Promise<number> {
  try {
    const outcome = { exitCode: 0 };
    await buildProgram(outcome).parseAsync(argv, { from: "user" });
    return outcome.exitCode;
  } catch (error) {
    // Commander has already printed its one-line message (or the help text, exit code 0).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
    const { message, code } = describeError(error);
    console.error(message.split("\n")[0]);
    return code;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
