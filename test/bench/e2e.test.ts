import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { REPO_ROOT } from "../../scripts/demo/hardhatNode";

const TSX_BIN = path.join(REPO_ROOT, "node_modules/.bin/tsx");

/** Runs `bench/e2e.ts` with `args`; resolves with its exit code and output (stdout, then stderr). */
async function runBench(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(TSX_BIN, ["bench/e2e.ts", ...args], { cwd: REPO_ROOT, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

/** The figures every phase of bench:e2e reports (PhaseResult). */
const PHASE_KEYS = [
  "requests", "reqPerSec", "sustainedReqPerSec", "p50Ms", "p95Ms", "lost", "doubleFinalized", "kills", "wallSeconds",
  "blocks", "txPerBlock", "gasUsedPerBlock", "chainNodeCpuPct", "oracleCpuPct", "benchCpuPct", "machineBusyPct",
  "chainNodeCpuMsPerRequest", "loadAverageStart", "loadAverageEnd",
];

describe("bench/e2e (npm run bench:e2e)", function () {
  this.timeout(660_000);

  it("refuses a committee larger than the validators in one line, before starting anything", async () => {
    const { code, output } = await runBench(["--validators", "2", "--committee", "3"]);
    expect(code).to.equal(1);
    expect(output.trim()).to.equal("error: --committee 3 is more than --validators 2");
  });

  it("runs 4 validators as 4 oracle processes through every phase, kills included, with nothing lost or finalized twice", async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-e2e-test-"));
    const out = path.join(outDir, "e2e.json");
    const { code, output } = await runBench([
      // At 1 req/s the 4th kill-phase request leaves 3 s after the phase starts, after the first kill (at most 1.5 s in).
      // The kill phase has its own rate (40 by default), so it is slowed too.
      "--validators", "4", "--processes", "--seed", "7", "--rate", "1", "--kill-rate", "1",
      "--requests", "6", "--latency-requests", "2", "--kill-requests", "4",
      "--alone-transactions", "5", "--poison-rounds", "0", "--stream-requests", "0", "--out", out,
    ]);
    const written = fs.existsSync(out) ? fs.readFileSync(out, "utf8") : undefined;
    fs.rmSync(outDir, { recursive: true, force: true });
    expect(code, output).to.equal(0);
    expect(output).to.contain("4 validators in 4 oracle processes, committee 3/quorum 2");
    const result = JSON.parse(written as string);

    expect(result).to.include({ chain: "hardhat", validators: 4, processes: 4, requests: 4, lost: 0, doubleFinalized: 0 });
    expect(result.setup).to.include({ validators: 4, oracleProcesses: 4, committee: 3, quorum: 2, seed: 7, heads: "ws" });
    expect(result.throughput).to.have.all.keys(PHASE_KEYS);
    expect(result.latency).to.have.all.keys(PHASE_KEYS);
    expect(result.withKills).to.have.all.keys(PHASE_KEYS);
    expect(result.throughput).to.include({ requests: 6, lost: 0, doubleFinalized: 0, kills: 0 });
    expect(result.latency).to.include({ requests: 2, lost: 0, doubleFinalized: 0, kills: 0 });
    expect(result.withKills).to.include({ requests: 4, lost: 0, doubleFinalized: 0 });
    expect(result.withKills.kills).to.be.at.least(1);
    expect(result.kills).to.equal(result.withKills.kills);
    // The oracle's CPU is the sum over its processes: it did the work, so it is above zero.
    expect(result.throughput.oracleCpuPct).to.be.greaterThan(0);
    expect(result.chainAlone.transactions).to.equal(5);
    for (const key of ["reqPerSec", "p50Ms", "p95Ms", "chainNodeCpuPct"]) expect(result[key], key).to.be.a("number");
    expect(result).to.not.have.any.keys("streaming", "poison");
  });
});
