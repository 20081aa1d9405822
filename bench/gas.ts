/**
 * Gas benchmark: `npm run bench:gas` (hardhat run bench/gas.ts). Writes bench/out/gas.json and prints a table.
 * - lifecycle.committee1: request + respond (the node's path for a committee of one: the response finalizes in one
 *   transaction, which also draws the committee). lifecycle.committee3: request + every commit (the first one draws
 *   the committee) + the reveals up to the finalizing one. Each sums the transactions' gasUsed (21k base included),
 *   200-character prompt and response, steady state (the requester and every validator already hold credits from
 *   earlier requests, as in normal operation): the mean over STEADY_RUNS lifecycles (committees differ from run to
 *   run, and a member's seat changes what it reads); lifecycleMax = the dearest of those runs; lifecycleFirst = the
 *   very first request on a fresh deployment (ids assigned, first slots of the requester and validators);
 *   lifecycleSteps = the last steady run per transaction, and lifecycleBreakdown = where each of its transactions'
 *   gas went, by opcode (bench/gasBreakdown.ts).
 * - lifecycle.threadTurn: the committee3 lifecycle of a conversation turn (`requestChatFollowUp` extending the
 *   requester's previous finalized turn, then the same commits and reveals), same method and runs.
 * - afterFinalization.committee3: what a committee of 3 spends after its finalizing reveal, mean over the same runs:
 *   `lateReveal` = the third member's agreeing reveal (paid its share), `settle` = settle() after the reveal deadline
 *   (nobody to slash, nothing to refund).
 * - lifecycleFloor: the committee-of-one lifecycle of contracts/test/GasFloorProbe.sol, which keeps the registry's
 *   slots, reads, draw and events and drops every check (committee1: with the randomness source's two calls;
 *   committee1InlineSeed: the seed computed in the probe). A floor for lifecycle.committee1.
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
/** The model's limits as registered (the benchmark needs no model folder). */
const MODEL_LIMITS = { maxPromptBytes: 4096, maxNewTokens: 256, contextLength: 1024 };
const STEADY_RUNS = 10;

async function receiptGas(tx: Promise<{ wait(): Promise<{ gasUsed: bigint; hash: string } | null> }>): Promise<{ gas: bigint; hash: string }> {
  const receipt = await (await tx).wait();
  return { gas: receipt!.gasUsed, hash: receipt!.hash };
}

/** gasUsed of each transaction of one lifecycle, in order: request, then respond or commits and reveals. */
interface LifecycleRun {
  total: bigint;
  steps: { step: string; gas: bigint; hash: string }[];
  /** Committee of 3 only: the third member's late reveal and the settle after the reveal deadline. */
  after?: { lateReveal: bigint; settle: bigint };
}

interface LifecycleResult {
  first: bigint;
  steady: number;
  max: number;
  steadySteps: { step: string; gas: number }[];
  breakdown: ({ step: string } & GasBreakdown)[];
  after?: { lateReveal: number; settle: number };
}

const FINALIZED = 4n;

/** A fresh deployment with ten validators of equal stake; signer 11 is the requester. */
async function stakedDeployment(committeeSize: number, quorum: number) {
  const signers = await ethers.getSigners();
  const deployment = await deployAll(hre, {
    modelHash: MODEL_HASH,
    modelLimits: MODEL_LIMITS,
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
  return { registry, chat, validators, requester: signers[11], byAddress: new Map(validators.map((v) => [v.address, v])) };
}

/** `thread`: every lifecycle after the first is a turn extending the previous one (`requestChatFollowUp`). */
async function lifecycle(committeeSize: number, quorum: number, thread = false): Promise<LifecycleResult> {
  const { chat, validators, requester, byAddress } = await stakedDeployment(committeeSize, quorum);
  const responseHash = ethers.keccak256(ethers.toUtf8Bytes(RESPONSE));
  const member = (address: string) => byAddress.get(address)!;

  let parentId: bigint | undefined;
  async function once(): Promise<LifecycleRun> {
    const steps: { step: string; gas: bigint; hash: string }[] = [];
    const rest = [ethers.toUtf8Bytes(PROMPT), 64, ethers.ZeroAddress, 0, 0, { value: 10n ** 15n }] as const;
    const requestTx = parentId === undefined
      ? chat.connect(requester).requestChat(1, ...rest)
      : chat.connect(requester).requestChatFollowUp(parentId, ...rest);
    steps.push({ step: parentId === undefined ? "request" : "request turn", ...(await receiptGas(requestTx)) });
    const requestId = await chat.requestCount();
    // The seed block is the request's own: its hash exists from the next (pending) block on.
    const [committee, ready] = await chat.previewCommittee(requestId, { blockTag: "pending" });
    if (!ready) throw new Error(`committee of request ${requestId} not drawable`);
    let after: LifecycleRun["after"];
    if (committeeSize === 1) {
      steps.push({ step: "respond (finalizes)", ...(await receiptGas(chat.connect(member(committee[0])).respond(requestId, RESPONSE))) });
    } else {
      const salt = ethers.id("salt");
      for (const [seat, address] of committee.entries()) {
        const commitment = await chat.computeCommitment(requestId, address, responseHash, salt);
        const receipt = await receiptGas(chat.connect(member(address)).commitResponse(requestId, commitment));
        steps.push({ step: seat === 0 ? "commit 1 (draws)" : `commit ${seat + 1}`, ...receipt });
      }
      for (const [seat, address] of committee.slice(0, quorum).entries()) {
        const receipt = await receiptGas(chat.connect(member(address)).revealResponse(requestId, RESPONSE, salt));
        steps.push({ step: seat + 1 === quorum ? `reveal ${seat + 1} (finalizes)` : `reveal ${seat + 1}`, ...receipt });
      }
      if ((await chat.getRecord(requestId)).status !== FINALIZED) throw new Error("benchmark request did not finalize");
      const late = await receiptGas(chat.connect(member(committee[quorum])).revealResponse(requestId, RESPONSE, salt));
      const { revealDeadline } = await chat.getRecord(requestId);
      const now = (await ethers.provider.getBlock("latest"))!.timestamp;
      await ethers.provider.send("evm_increaseTime", [Math.max(1, Number(revealDeadline) - now + 1)]);
      const settled = await receiptGas(chat.connect(requester).settle(requestId));
      after = { lateReveal: late.gas, settle: settled.gas };
    }
    if ((await chat.getRecord(requestId)).status !== FINALIZED) throw new Error("benchmark request did not finalize");
    if (thread) parentId = requestId;
    return { total: steps.reduce((sum, s) => sum + s.gas, 0n), steps, after };
  }
  const first = await once();
  // Steady state: every validator already holds credits (validators withdraw now and then, not per request).
  for (let warmup = 0; warmup < 100; warmup++) {
    const credits = await Promise.all(validators.map((v) => chat.creditOf(v.address)));
    if (credits.every((c) => c > 0n)) break;
    await once();
  }
  const runs: LifecycleRun[] = [];
  for (let run = 0; run < STEADY_RUNS; run++) runs.push(await once());
  const totals = runs.map((run) => Number(run.total));
  const mean = (values: number[]) => Math.round(values.reduce((sum, v) => sum + v, 0) / values.length);
  const breakdown = [];
  for (const { step, hash } of runs.at(-1)!.steps) breakdown.push({ step, ...(await gasBreakdown(hre.network.provider, hash)) });
  return {
    first: first.total,
    steady: mean(totals),
    max: Math.max(...totals),
    steadySteps: runs.at(-1)!.steps.map(({ step, gas }) => ({ step, gas: Number(gas) })),
    breakdown,
    after: runs[0].after && {
      lateReveal: mean(runs.map((run) => Number(run.after!.lateReveal))),
      settle: mean(runs.map((run) => Number(run.after!.settle))),
    },
  };
}

/**
 * The committee-of-one lifecycle of contracts/test/GasFloorProbe.sol: the same slots, reads, draw and events as
 * request + respond, without any check. Mean of STEADY_RUNS, after the requester's and validators' slots exist.
 * `inlineSeed`: the seed computed in the probe instead of by two calls to the randomness source.
 */
async function floorLifecycle(inlineSeed: boolean): Promise<number> {
  const { registry, chat, validators, requester, byAddress } = await stakedDeployment(1, 1);
  const factory = await ethers.getContractFactory("GasFloorProbe");
  const probe = await factory.deploy(await registry.getAddress(), await chat.randomnessSource(), inlineSeed);
  await probe.warm(requester.address, validators.map((v) => v.address));
  const totals: number[] = [];
  for (let run = 0; run < STEADY_RUNS; run++) {
    const request = await receiptGas(probe.connect(requester).request(1, ethers.toUtf8Bytes(PROMPT), 64, { value: 10n ** 15n }));
    const [member] = await probe.previewCommittee(run + 1, { blockTag: "pending" });
    const respond = await receiptGas(probe.connect(byAddress.get(member)!).respond(run + 1, RESPONSE));
    totals.push(Number(request.gas + respond.gas));
  }
  return Math.round(totals.reduce((sum, v) => sum + v, 0) / totals.length);
}

async function anchorPerRecord(count: number): Promise<number> {
  const signers = await ethers.getSigners();
  const deployment = await deployAll(hre, { modelHash: MODEL_HASH, modelLimits: MODEL_LIMITS, write: false });
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
  const threadTurn = await lifecycle(3, 2, true);
  const floor = { committee1: await floorLifecycle(false), committee1InlineSeed: await floorLifecycle(true) };
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
    lifecycle: { committee1: committee1.steady, committee3: committee3.steady, threadTurn: threadTurn.steady },
    lifecycleMax: { committee1: committee1.max, committee3: committee3.max },
    lifecycleRuns: STEADY_RUNS,
    lifecycleFirst: { committee1: Number(committee1.first), committee3: Number(committee3.first) },
    lifecycleSteps: { committee1: committee1.steadySteps, committee3: committee3.steadySteps, threadTurn: threadTurn.steadySteps },
    lifecycleBreakdown: { committee1: committee1.breakdown, committee3: committee3.breakdown },
    lifecycleFloor: floor,
    afterFinalization: { committee3: committee3.after },
    anchorPerRecord256: anchor,
  };
  writeFileSync(outFile, JSON.stringify(result, null, 2) + "\n");
  const rows: [string, number | string, string][] = [
    [`lifecycle committee1 (steady, mean of ${STEADY_RUNS})`, result.lifecycle.committee1, "≤ 165,000"],
    [`lifecycle committee3 (steady, mean of ${STEADY_RUNS})`, result.lifecycle.committee3, "≤ 450,000"],
    [`lifecycle threadTurn (committee3, steady, mean of ${STEADY_RUNS})`, result.lifecycle.threadTurn, ""],
    ["committee3 late third reveal (after quorum)", committee3.after!.lateReveal, ""],
    ["committee3 settle (after the reveal deadline)", committee3.after!.settle, ""],
    ["lifecycle committee1 (steady, max)", result.lifecycleMax.committee1, ""],
    ["lifecycle committee3 (steady, max)", result.lifecycleMax.committee3, ""],
    ["lifecycle committee1 (first)", result.lifecycleFirst.committee1, ""],
    ["lifecycle committee3 (first)", result.lifecycleFirst.committee3, ""],
    ["floor committee1 (GasFloorProbe: same slots and events, no checks)", floor.committee1, ""],
    ["floor committee1, seed computed inline (no randomness source calls)", floor.committee1InlineSeed, ""],
    ["anchor per record (batch 256)", anchor, "≤ 2,000"],
  ];
  for (const [name, run] of [["committee1", committee1], ["committee3", committee3], ["threadTurn", threadTurn]] as const) {
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
