import { expect } from "chai";
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { keccak256, toUtf8Bytes } from "ethers";
import { computeModelHash } from "../../../oracle/src/inference";
import { sharedTinyEngine } from "../../helpers/engines";
import { makeTempDir, removeTempDirs, tinyModelDir } from "./fixtures";

const ROOT = path.resolve(__dirname, "../../..");
const TSX = path.join(ROOT, "node_modules/.bin/tsx");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(script: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(TSX, [path.join(ROOT, "oracle/src/cli", script), ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function expectOneLineError(run: Run, needle: string): void {
  expect(run.code).to.not.equal(0);
  expect(run.stdout).to.equal("");
  const lines = run.stderr.trimEnd().split("\n");
  expect(lines, run.stderr).to.have.length(1);
  expect(lines[0]).to.match(/^error: /).and.contain(needle);
}

describe("inference CLIs (generate, model:build, model:train)", function () {
  let modelDir: string;

  before(async function () {
    modelDir = await tinyModelDir();
  });

  after(removeTempDirs);

  it("generate --json prints one object with ids, text, hashes, provider and speed, matching the engine", async function () {
    const prompt = "The validator";
    const run = await runCli("generate.ts", ["--model", modelDir, "--prompt", prompt, "--max-new-tokens", "12", "--providers", "cpu", "--json"]);
    expect(run.code, run.stderr).to.equal(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines).to.have.length(1);
    const out = JSON.parse(lines[0]);
    expect(Object.keys(out)).to.include.members(["prompt", "promptTokenIds", "tokenIds", "text", "responseHash", "modelHash", "provider", "tokensPerSecond"]);
    // The shared engine loads the same folder (models/tiny): the CLI must print what the library generates.
    const engine = await sharedTinyEngine();
    const expected = await engine.generate({ prompt, maxNewTokens: 12 });
    expect(out.prompt).to.equal(prompt);
    expect(out.promptTokenIds).to.deep.equal(expected.promptTokenIds);
    expect(out.tokenIds).to.deep.equal(expected.tokenIds);
    expect(out.text).to.equal(expected.text);
    expect(out.responseHash).to.equal(keccak256(toUtf8Bytes(out.text)));
    expect(out.modelHash).to.equal(await computeModelHash(modelDir));
    expect(out.provider).to.equal("cpu");
    expect(out.tokensPerSecond).to.be.greaterThan(0);
  });

  it("generate rejects a bad option value with one error line and a nonzero exit", async function () {
    expectOneLineError(await runCli("generate.ts", ["--model", modelDir, "--prompt", "x", "--max-new-tokens", "0"]), "--max-new-tokens");
  });

  it("generate rejects an empty prompt before loading the model", async function () {
    // A model folder that does not exist would fail the load: the prompt error shows the load never started.
    const run = await runCli("generate.ts", ["--model", "/nonexistent", "--prompt", "", "--providers", "cpu"]);
    expectOneLineError(run, "--prompt");
    expect(run.stderr).to.contain("must not be empty").and.not.contain("model folder");
  });

  it("generate rejects an unknown provider and a missing model folder with one error line each", async function () {
    expectOneLineError(await runCli("generate.ts", ["--model", modelDir, "--prompt", "x", "--providers", "cpu,gpu"]), "gpu");
    expectOneLineError(await runCli("generate.ts", ["--model", "/nonexistent", "--prompt", "x", "--providers", "cpu"]), "model folder not found: /nonexistent");
  });

  it("model:build writes a model whose printed modelHash matches the folder, and rejects a bad preset", async function () {
    const out = path.join(await makeTempDir("cli-build"), "m");
    const run = await runCli("buildModel.ts", ["--preset", "tiny", "--out", out, "--n-layer", "1"]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain(`modelHash ${await computeModelHash(out)}`);
    expectOneLineError(await runCli("buildModel.ts", ["--preset", "huge"]), "huge");
  });

  it("model:build --fused-ops writes the fused graph of the same weights and says so in config.json", async function () {
    const out = path.join(await makeTempDir("cli-build-fused"), "m");
    const run = await runCli("buildModel.ts", ["--preset", "tiny", "--out", out, "--n-layer", "1", "--fused-ops"]);
    expect(run.code, run.stderr).to.equal(0);
    const config = JSON.parse(await fs.readFile(path.join(out, "config.json"), "utf8"));
    expect(config.chat_oracle_builder.fused_ops).to.equal(true);
    expect((await fs.readFile(path.join(out, "onnx", "model.onnx"))).includes("MultiHeadAttention")).to.equal(true);
  });

  it("model:train without WordNet, or with a bad step count, stops with one error line before training", async function () {
    const missing = path.join(await makeTempDir("cli-train"), "no-wordnet");
    const out = path.join(path.dirname(missing), "m");
    expectOneLineError(await runCli("trainModel.ts", ["--wordnet", missing, "--out", out]), "install Debian's wordnet-base");
    expectOneLineError(await runCli("trainModel.ts", ["--steps", "0", "--out", out]), "--steps");
    await fs.access(out).then(
      () => expect.fail("model:train wrote a folder after failing"),
      () => undefined,
    );
  });
});
