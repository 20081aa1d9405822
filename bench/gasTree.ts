/**
 * Gas benchmark of the SortitionTree library against a linear scan.
 *
 * What "gas of one draw" means here: the execution gas of the library call alone, measured by the harness with
 * gasleft() right before and after `SortitionTree.draw` (so no ABI dispatch, calldata or 21,000 base), in a call
 * executed as its own fresh transaction (eth_call), so every storage slot the draw reads is cold — the cost a
 * registry pays when it draws once per request. The linear scan is measured the same way. Updates and inserts are
 * measured the same way around `SortitionTree.set`. Every figure is the mean over several seeds / members, rounded.
 * For reference the JSON also has `drawTransaction`: the full gasUsed (including the 21,000 base and calldata) of a
 * real transaction whose only work is one draw through the harness.
 *
 * Run alone: `npm run bench:tree` (prints a table, writes bench/out/gasTree.json); bench/gas.ts imports
 * measureTreeGas() and merges the figures into bench/out/gas.json.
 */
import fs from "node:fs";
import path from "node:path";
import type { Signer } from "ethers";
import hre, { ethers, network } from "hardhat";
import { createProvider } from "hardhat/internal/core/providers/construction";
import type { HardhatNetworkConfig } from "hardhat/types";
import { provenance } from "./provenance";
import {
  SortitionTreeHarness__factory,
  SortitionTreeLinearScan__factory,
  type SortitionTreeHarness,
  type SortitionTreeLinearScan,
} from "../typechain-types";

export interface TreeGas {
  draw: { "1000": number; "10000": number; "100000": number };
  drawLinear: { "1000": number; "10000": number };
  stakeUpdate10000: number;
  insert10000: number;
}

export interface TreeGasReport extends TreeGas {
  drawMax: { "1000": number; "10000": number; "100000": number };
  drawTransaction: { "1000": number; "10000": number; "100000": number };
  drawDistinct3: { "1000": number; "10000": number; "100000": number };
  removal10000: number;
  method: string;
}

/** Weights of generated members are uniform in [1, MAX_WEIGHT]. */
const MAX_WEIGHT = 1_000n;
/** Members inserted per transaction while building (each insert is a full library `set`, ~90k gas). */
const BUILD_BATCH = 2_000;
/** Block (and so transaction and eth_call) gas limit of the benchmark's private chain. */
const BENCH_BLOCK_GAS_LIMIT = 1_000_000_000;
const DRAW_SAMPLES = 24;
const LINEAR_SAMPLES = 8;
const SET_SAMPLES = 16;

function mean(values: bigint[]): number {
  return Math.round(Number(values.reduce((a, b) => a + b, 0n)) / values.length);
}

function seeds(label: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => ethers.id(`${label} ${i}`));
}

async function growTo(contract: SortitionTreeHarness | SortitionTreeLinearScan, from: number, to: number) {
  for (let first = from; first < to; first += BUILD_BATCH) {
    const count = Math.min(BUILD_BATCH, to - first);
    // An explicit gas limit skips eth_estimateGas, which would re-run the whole batch a dozen times.
    await (await contract.insertGenerated(first, count, MAX_WEIGHT, { gasLimit: BENCH_BLOCK_GAS_LIMIT })).wait();
  }
}

async function measureDraws(contract: SortitionTreeHarness | SortitionTreeLinearScan, label: string, samples: number) {
  const used: bigint[] = [];
  for (const seed of seeds(label, samples)) {
    const [gasUsed] = await contract.measureDraw.staticCall(seed);
    used.push(gasUsed);
  }
  return { mean: mean(used), max: Number(used.reduce((a, b) => (a > b ? a : b), 0n)) };
}

/** gasUsed of a mined transaction whose only work is one draw (includes the 21,000 base and calldata). */
async function drawTransactionGas(tree: SortitionTreeHarness, signer: Signer): Promise<number> {
  const used: bigint[] = [];
  for (const seed of seeds("transaction", 4)) {
    const data = tree.interface.encodeFunctionData("draw", [seed]);
    const receipt = await (
      await signer.sendTransaction({ to: await tree.getAddress(), data, gasLimit: 1_000_000 })
    ).wait();
    used.push(receipt!.gasUsed);
  }
  return mean(used);
}

/** Measures every figure; builds trees of 1,000, 10,000 and 100,000 generated members (a few minutes). */
/**
 * A private in-process chain for the benchmark, independent of whatever the caller did on the default one. It
 * runs the Prague rules: Osaka's per-transaction cap of 2^24 gas (EIP-7825) would stop the linear scan over
 * 10,000 cold entries (up to ~19M gas) in one call; every opcode the tree and the scan use costs the same under
 * both rules.
 */
async function benchSigner(): Promise<Signer> {
  const hardhatNetwork: HardhatNetworkConfig = {
    ...(hre.config.networks.hardhat as HardhatNetworkConfig),
    hardfork: "prague",
    blockGasLimit: BENCH_BLOCK_GAS_LIMIT,
  };
  const config = { ...hre.config, networks: { ...hre.config.networks, hardhat: hardhatNetwork } };
  const provider = await createProvider(config, "hardhat", hre.artifacts);
  return new ethers.BrowserProvider(provider).getSigner(0);
}

export async function measureTreeGas(log: (line: string) => void = () => {}): Promise<TreeGasReport> {
  const signer = await benchSigner();
  const tree = await new SortitionTreeHarness__factory(signer).deploy();
  const linear = await new SortitionTreeLinearScan__factory(signer).deploy();
  const report: TreeGasReport = {
    draw: { "1000": 0, "10000": 0, "100000": 0 },
    drawMax: { "1000": 0, "10000": 0, "100000": 0 },
    drawTransaction: { "1000": 0, "10000": 0, "100000": 0 },
    drawDistinct3: { "1000": 0, "10000": 0, "100000": 0 },
    drawLinear: { "1000": 0, "10000": 0 },
    stakeUpdate10000: 0,
    insert10000: 0,
    removal10000: 0,
    method:
      "prague rules (no per-tx cap); execution gas of the library call alone (gasleft() delta around it) in a fresh eth_call, all storage cold; " +
      "mean over seeds/members; drawTransaction = full gasUsed of a transaction doing one draw",
  };

  let size = 0;
  for (const target of [1_000, 10_000, 100_000] as const) {
    const started = Date.now();
    await growTo(tree, size, target);
    size = target;
    log(`built a ${target}-member tree in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const key = String(target) as "1000" | "10000" | "100000";
    const draws = await measureDraws(tree, `draw ${target}`, DRAW_SAMPLES);
    report.draw[key] = draws.mean;
    report.drawMax[key] = draws.max;
    report.drawTransaction[key] = await drawTransactionGas(tree, signer);
    const committees: bigint[] = [];
    for (const seed of seeds(`committee ${target}`, DRAW_SAMPLES / 3)) {
      committees.push(await tree.measureDrawDistinct.staticCall(seed, 3n));
    }
    report.drawDistinct3[key] = mean(committees);

    log(
      `draw at ${target}: ${draws.mean} gas (transaction ${report.drawTransaction[key]}, 3 distinct ${report.drawDistinct3[key]})`
    );
    if (target === 10_000) {
      const updates: bigint[] = [];
      const removals: bigint[] = [];
      for (let i = 0; i < SET_SAMPLES; i++) {
        const id = BigInt(i * 617);
        const member = await tree.generatedMember(id);
        const weight = await tree.generatedWeight(id, MAX_WEIGHT);
        // Half the updates raise the weight, half lower it.
        const newWeight = i % 2 === 0 ? weight + 500n : (weight + 1n) / 2n;
        updates.push(await tree.measureSet.staticCall(member, newWeight === weight ? weight + 1n : newWeight));
        removals.push(await tree.measureSet.staticCall(member, 0n));
      }
      const inserts: bigint[] = [];
      for (let i = 0; i < SET_SAMPLES; i++) {
        inserts.push(await tree.measureSet.staticCall(await tree.generatedMember(1_000_000 + i), 1n + BigInt(i)));
      }
      report.stakeUpdate10000 = mean(updates);
      report.removal10000 = mean(removals);
      report.insert10000 = mean(inserts);
      log(
        `update ${report.stakeUpdate10000}, insert ${report.insert10000}, removal ${report.removal10000} gas at 10000`
      );
    }

    if (target <= 10_000) {
      await growTo(linear, target === 1_000 ? 0 : 1_000, target);
      report.drawLinear[key as "1000" | "10000"] = (
        await measureDraws(linear, `linear ${target}`, LINEAR_SAMPLES)
      ).mean;
      log(`linear scan draw at ${target}: ${report.drawLinear[key as "1000" | "10000"]} gas`);
    }
  }
  return report;
}

function printTable(report: TreeGasReport): void {
  const rows: [string, string][] = [
    ["draw, N = 1,000", `${report.draw["1000"]} (max ${report.drawMax["1000"]})`],
    ["draw, N = 10,000", `${report.draw["10000"]} (max ${report.drawMax["10000"]})`],
    ["draw, N = 100,000", `${report.draw["100000"]} (max ${report.drawMax["100000"]})`],
    [
      "draw tx gasUsed incl. 21k, N = 1,000 / 10,000 / 100,000",
      `${report.drawTransaction["1000"]} / ${report.drawTransaction["10000"]} / ${report.drawTransaction["100000"]}`,
    ],
    [
      "drawDistinct k = 3, N = 1,000 / 10,000 / 100,000",
      `${report.drawDistinct3["1000"]} / ${report.drawDistinct3["10000"]} / ${report.drawDistinct3["100000"]}`,
    ],
    ["linear scan draw, N = 1,000", String(report.drawLinear["1000"])],
    ["linear scan draw, N = 10,000", String(report.drawLinear["10000"])],
    ["weight update, N = 10,000", String(report.stakeUpdate10000)],
    ["insert (new leaf), N = 10,000", String(report.insert10000)],
    ["removal, N = 10,000", String(report.removal10000)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(`${"measure".padEnd(width)}  gas`);
  for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
  console.log(`(${report.method})`);
}

async function main(): Promise<void> {
  if (network.name !== "hardhat") throw new Error("bench:tree runs on the in-process hardhat network only");
  const report = await measureTreeGas((line) => console.log(line));
  printTable(report);
  const outDir = path.join(__dirname, "out");
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "gasTree.json"), JSON.stringify({ ...provenance("npm run bench:tree"), ...report }, null, 2) + "\n");
  console.log(`wrote ${path.join(outDir, "gasTree.json")}`);
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
