import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { main } from "../../pow/src/cli";
import { BITCOIN_HEADER_VECTORS } from "./header/bitcoinVectors";

const GENESIS = BITCOIN_HEADER_VECTORS[0].hex;
const TAMPERED = GENESIS.slice(0, -2) + "7d";

/** Runs the CLI in-process, capturing what it prints. */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { log: console.log, error: console.error, write: process.stderr.write };
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  process.stderr.write = ((chunk: string) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, out: out.join("\n"), err: err.join("") };
  } finally {
    Object.assign(console, { log: saved.log, error: saved.error });
    process.stderr.write = saved.write;
  }
}

describe("pow/cli", () => {
  it("header: exit 0 and VALID for the genesis block, exit 1 and INVALID when tampered (separate process)", () => {
    const tsx = path.join("node_modules", ".bin", "tsx");
    const valid = spawnSync(tsx, ["pow/src/cli.ts", "header", GENESIS], { encoding: "utf8" });
    expect(valid.status).to.equal(0);
    expect(valid.stdout).to.include(BITCOIN_HEADER_VECTORS[0].hash);
    expect(valid.stdout).to.include("VALID");
    const invalid = spawnSync(tsx, ["pow/src/cli.ts", "header", TAMPERED], { encoding: "utf8" });
    expect(invalid.status).to.equal(1);
    expect(invalid.stdout).to.include("INVALID");
  });

  it("header --json prints the verdict", async () => {
    const { code, out } = await run("header", BITCOIN_HEADER_VECTORS[2].hex, "--json");
    expect(code).to.equal(0);
    expect(JSON.parse(out)).to.include({ hash: BITCOIN_HEADER_VECTORS[2].hash, valid: true });
  });

  const badOptions: Array<[string, string[], RegExp]> = [
    ["a header that is not 80 bytes", ["header", "abcd"], /80 bytes/],
    ["a negative hashrate", ["pow", "--hashrates", "1,-2"], /non-negative/],
    ["an empty miner list", ["pow", "--hashrates", ""], /empty/],
    ["zero miners", ["pos", "--miners", "0"], /positive integer/],
    ["k out of range", ["pow", "--k", "256"], /--k/],
    ["a non-numeric block count", ["pow", "--blocks", "many"], /not a number/],
    ["an unknown option", ["compare", "--frobnicate"], /unknown option/],
    ["an unknown distribution", ["pos", "--distribution", "lognormal"], /Allowed choices/],
    ["a missing hashrates file", ["pow", "--hashrates-file", "/nonexistent/rates.txt"], /ENOENT|no such file/],
    ["a bad report name", ["compare", "--name", "../escape", "--runs", "2"], /--name/],
  ];
  for (const [what, argv, message] of badOptions) {
    it(`exits 2 with one line for ${what}`, async () => {
      const { code, err } = await run(...argv);
      expect(code).to.equal(2);
      expect(err.trim().split("\n")).to.have.length(1);
      expect(err).to.match(message);
    });
  }

  it("pow --json is reproducible by --seed", async () => {
    const argv = ["pow", "--miners", "4", "--blocks", "200", "--delay", "30", "--json"];
    const a = await run(...argv, "--seed", "7");
    const b = await run(...argv, "--seed", "7");
    const c = await run(...argv, "--seed", "8");
    expect(a.code).to.equal(0);
    expect(a.out).to.equal(b.out);
    expect(c.out).to.not.equal(a.out);
    expect(JSON.parse(a.out).mainChainBlocks).to.equal(200);
  });

  it("reads hashrates from a file (JSON array or separated numbers)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pow-cli-"));
    try {
      writeFileSync(path.join(dir, "rates.json"), "[1e12, 3e12]");
      writeFileSync(path.join(dir, "rates.txt"), "1e12\n3e12\n");
      const fromJson = await run("pow", "--hashrates-file", path.join(dir, "rates.json"), "--blocks", "50", "--json");
      const fromText = await run("pow", "--hashrates-file", path.join(dir, "rates.txt"), "--blocks", "50", "--json");
      expect(fromJson.code).to.equal(0);
      expect(JSON.parse(fromJson.out).miners.map((m: { initialShare: number }) => m.initialShare)).to.deep.equal([0.25, 0.75]);
      expect(fromText.out).to.equal(fromJson.out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("mine builds a valid toy chain with real hashing and reports hashes per second", async () => {
    const { code, out } = await run("mine", "--k", "12", "--blocks", "2", "--workers", "1", "--json");
    expect(code).to.equal(0);
    const result = JSON.parse(out);
    expect(result.validation).to.deep.equal({ valid: true, length: 3 });
    expect(result.blocks).to.have.length(2);
    for (const block of result.blocks) {
      expect(block.hash.startsWith("000")).to.equal(true); // 12 zero bits = 3 hex digits
      expect(block.hashesPerSec).to.be.greaterThan(0);
    }
    expect((await run("mine", "--k", "41")).code).to.equal(2);
  });

  it("pos prints the proposer shares", async () => {
    const { code, out } = await run("pos", "--hashrates", "1,3", "--slots", "100", "--no-compound");
    expect(code).to.equal(0);
    expect(out).to.match(/2 validators, 100 slots, rewards paid aside/);
  });
});
