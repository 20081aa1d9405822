/**
 * Gas benchmark: `npm run bench:gas` (hardhat run bench/gas.ts). Writes bench/out/gas.json and prints a table.
 * - lifecycle.committee1 / committee3: request + every commit + the reveals up to the finalizing one, summing each
 *   transaction's gasUsed (21k base included), 200-character prompt and response, steady state (the requester and
 *   every validator already hold pending rewards from earlier requests, as in normal operation): the mean over
 *   STEADY_RUNS lifecycles (committees differ from run to run, and a member's seat changes what it reads);
 *   lifecycleMax = the dearest of those runs; lifecycleFirst = the very first request on a fresh deployment (ids
 *   assigned, first slots of the requester and validators); lifecycleSteps = the last steady run per transaction,
 *   and lifecycleBreakdown = where each of its transactions' gas went, by opcode (bench/gasBreakdown.ts).
 * - anchorPerRecord256: gasUsed of one anchorBatch transaction / 256.
 * - Tree figures (draw, drawLinear, stakeUpdate10000, insert10000) come from bench/gasTree.ts when present
 *   (BENCH_SKIP_TREE=1 reuses bench/out/gasTree.json from `npm run bench:tree` instead of measuring again).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { deployAll } from "../scripts/lib/deploy";
import { gasBreakdown, sumBreakdowns, type GasBreakdown } from "./gasBreakdown";
import { provenance, splitStamp } from "./provenance";

const { ethers } = hre;
const PROMPT = "P".repeat(180) + "rompt text 200 chars"; // 200 characters
const RESPONSE = "R".repeat(180) + "esponse text 200 chr"; // 200 characters
const MODEL_HASH = "0x" + "ab".repeat(32);
const STEADY_RUNS = 10;

async function receiptGas(tx: Promise<{ wait(): Promise<{ gasUsed: bigint; hash: string } | null> }>): Promise<{ gas: bigint; hash: string }> {
  const receipt = await (await tx).wait();
  return { gas: receipt!.gasUsed, hash: receipt!.hash };
}

/** gasUsed of each transaction of one lifecycle, in order: request, commit per member, reveal per revealer. */
interface LifecycleRun {
  total: bigint;
  steps: { step: string; gas: bigint; hash: string }[];
}

async function lifecycle(
  committeeSize: number,
  quorum: number,
): Promise<{ first: bigint; steady: number; max: number; steadySteps: { step: string; gas: number }[]; breakdown: ({ step: string } & GasBreakdown)[] }> {
  const signers = await ethers.getSigners();
  const deployment = await deployAll(hre, {
    modelHash: MODEL_HASH,
    write: false,
    config: { committeeSize, quorum, minimumFee: 10n ** 15n },
  });
  const token = await ethers.getContractAt("DemoToken", deployment.addresses.DemoToken!);
  const registry = await ethers.getContractAt("ValidatorRegistry", deployment.addresses.ValidatorRegistry);
  const chat = await ethers.getContractAt("ChatRecordRegistry", deployment.addresses.ChatRecordRegistry);
  const validators = signers.slice(1, 11);
  const stake = 1000n * 10n ** 18n;
  for (const v of validators) {
    await token.mint(v.address, stake);
    await token.connect(v).approve(await registry.getAddress(), stake);
    await registry.connect(v).stake(stake, "http://127.0.0.1:8080");
  }
  const requester = signers[11];
  const byAddress = new Map(validators.map((v) => [v.address, v]));
  const responseHash = ethers.keccak256(ethers.toUtf8Bytes(RESPONSE));

  async function once(): Promise<LifecycleRun> {
    const steps: { step: string; gas: bigint; hash: string }[] = [];
    const requestTx = chat.connect(requester).requestChat(1, PROMPT, 64, ethers.ZeroAddress, 0, { value: 10n ** 15n });
    steps.push({ step: "request", ...(await receiptGas(requestTx)) });
    const requestId = await chat.requestCount();
    const committee = (await chat.getRecord(requestId)).committee;
    const salt = ethers.id("salt");
    for (const [seat, member] of committee.entries()) {
      const commitment = await chat.computeCommitment(requestId, member, responseHash, salt);
      const receipt = await receiptGas(chat.connect(byAddress.get(member)!).commitResponse(requestId, commitment));
      steps.push({ step: `commit ${seat + 1}`, ...receipt });
    }
    for (const [seat, member] of committee.slice(0, quorum).entries()) {
      const receipt = await receiptGas(chat.connect(byAddress.get(member)!).revealResponse(requestId, RESPONSE, salt));
      steps.push({ step: seat + 1 === quorum ? `reveal ${seat + 1} (finalizes)` : `reveal ${seat + 1}`, ...receipt });
    }
    if ((await chat.getRecord(requestId)).status !== 4n) throw new Error("benchmark request did not finalize");
    return { total: steps.reduce((sum, s) => sum + s.gas, 0n), steps };
  }
  const first = await once();
  // Steady state: every validator already holds pending rewards (validators withdraw now and then, not per request).
  for (let warmup = 0; warmup < 100; warmup++) {
    const pending = await Promise.all(validators.map((v) => chat.pendingRewards(v.address)));
    if (pending.every((p) => p > 0n)) break;
    await once();
  }
  const runs: LifecycleRun[] = [];
  for (let run = 0; run < STEADY_RUNS; run++) runs.push(await once());
  const totals = runs.map((run) => Number(run.total));
  const breakdown = [];
  for (const { step, hash } of runs.at(-1)!.steps) breakdown.push({ step, ...(await gasBreakdown(hre.network.provider, hash)) });
  return {
    first: first.total,
    steady: Math.round(totals.reduce((sum, total) => sum + total, 0) / totals.length),
    max: Math.max(...totals),
    steadySteps: runs.at(-1)!.steps.map(({ step, gas }) => ({ step, gas: Number(gas) })),
    breakdown,
  };
}

async function anchorPerRecord(count: number): Promise<number> {
  const signers = await ethers.getSigners();
  const deployment = await deployAll(hre, { modelHash: MODEL_HASH, write: false });
  const token = await ethers.getContractAt("DemoToken", deployment.addresses.DemoToken!);
  const registry = await ethers.getContractAt("ValidatorRegistry", deployment.addresses.ValidatorRegistry);
  const chat = await ethers.getContractAt("ChatRecordRegistry", deployment.addresses.ChatRecordRegistry);
  const validator = signers[1];
  const stake = 1000n * 10n ** 18n;
  await token.mint(validator.address, stake);
  await token.connect(validator).approve(await registry.getAddress(), stake);
  await registry.connect(validator).stake(stake, "");
  const { gas } = await receiptGas(chat.connect(validator).anchorBatch(ethers.id("batch root"), count, 1));
  return Math.round(Number(gas) / count);
}

async function treeFigures(): Promise<Record<string, unknown>> {
  const file = path.join(__dirname, "gasTree.ts");
  if (process.env.BENCH_SKIP_TREE === "1") {
    // Reuse the last `npm run bench:tree` figures instead of rebuilding the 100,000-member tree.
    const saved = path.join(__dirname, "out", "gasTree.json");
    if (!existsSync(saved)) return {};
    const { stamp, figures } = splitStamp(JSON.parse(readFileSync(saved, "utf8")) as Record<string, unknown>);
    return { ...figures, treeFiguresFrom: { file: "bench/out/gasTree.json", ...stamp } };
  }
  if (!existsSync(file)) return {};
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { measureTreeGas } = require("./gasTree") as {
    measureTreeGas(log: (line: string) => void): Promise<Record<string, unknown>>;
  };
  return { ...(await measureTreeGas((line) => console.log(line))), treeFiguresFrom: "this run" };
}

/** One row per transaction plus their sum. */
function breakdownRows(breakdown: ({ step: string } & GasBreakdown)[]) {
  const row = (step: string, b: GasBreakdown) => ({
    step,
    gasUsed: b.gasUsed,
    base: b.base,
    calldata: b.calldata,
    "new slots": `${b.newSlots.count} = ${b.newSlots.gas}`,
    "other SSTORE": b.otherSstore,
    SLOAD: b.sload,
    logs: b.logs,
    calls: b.calls,
    other: b.otherExecution,
    refund: b.refund,
  });
  return [...breakdown.map((b) => row(b.step, b)), row("total", sumBreakdowns(breakdown))];
}

async function main(): Promise<void> {
  const committee1 = await lifecycle(1, 1);
  const committee3 = await lifecycle(3, 2);
  const anchor = await anchorPerRecord(256);
  const tree = await treeFigures();
  const outDir = path.join(__dirname, "out");
  mkdirSync(outDir, { recursive: true });
  const outFile = path.join(outDir, "gas.json");
  const previous = existsSync(outFile) ? (JSON.parse(readFileSync(outFile, "utf8")) as Record<string, unknown>) : {};
  const result = {
    ...previous,
    ...provenance("npm run bench:gas"),
    ...tree,
    lifecycle: { committee1: committee1.steady, committee3: committee3.steady },
    lifecycleMax: { committee1: committee1.max, committee3: committee3.max },
    lifecycleRuns: STEADY_RUNS,
    lifecycleFirst: { committee1: Number(committee1.first), committee3: Number(committee3.first) },
    lifecycleSteps: { committee1: committee1.steadySteps, committee3: committee3.steadySteps },
    lifecycleBreakdown: { committee1: committee1.breakdown, committee3: committee3.breakdown },
    anchorPerRecord256: anchor,
  };
  writeFileSync(outFile, JSON.stringify(result, null, 2) + "\n");
  const rows: [string, number | string, string][] = [
    [`lifecycle committee1 (steady, mean of ${STEADY_RUNS})`, result.lifecycle.committee1, "≤ 200,000"],
    [`lifecycle committee3 (steady, mean of ${STEADY_RUNS})`, result.lifecycle.committee3, "≤ 450,000"],
    ["lifecycle committee1 (steady, max)", result.lifecycleMax.committee1, ""],
    ["lifecycle committee3 (steady, max)", result.lifecycleMax.committee3, ""],
    ["lifecycle committee1 (first)", result.lifecycleFirst.committee1, ""],
    ["lifecycle committee3 (first)", result.lifecycleFirst.committee3, ""],
    ["anchor per record (batch 256)", anchor, "≤ 2,000"],
  ];
  for (const [name, run] of [["committee1", committee1], ["committee3", committee3]] as const) {
    for (const { step, gas } of run.steadySteps) rows.push([`  ${name} ${step}`, gas, ""]);
  }
  for (const [key, value] of Object.entries(tree)) {
    if (typeof value !== "string") rows.push([key, JSON.stringify(value), ""]); // skip prose such as "method"
  }
  console.table(rows.map(([measure, gas, target]) => ({ measure, gas, target })));
  for (const [name, run] of [["committee of 1", committee1], ["committee of 3", committee3]] as const) {
    console.log(`where the gas of the last steady lifecycle went, ${name} (by opcode; new slots = zero → non-zero SSTOREs):`);
    console.table(breakdownRows(run.breakdown));
  }
  console.log(`wrote ${path.relative(process.cwd(), outFile)}`);
}

main().catch((err: unknown) => {
  console.error(`bench:gas failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
