import { expect } from "chai";
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { buildModel, ensureTinyModel, MODEL_PRESETS } from "../../../oracle/src/inference/buildModel";
import { gpt2ParamCount } from "../../../oracle/src/inference/builder/gpt2Graph";
import { computeModelHash } from "../../../oracle/src/inference/modelHash";
import { makeTempDir, removeTempDirs } from "./fixtures";

/**
 * sha256 of every file of the tiny preset. Any change to the builder, corpus, presets or PRNG changes these,
 * and with them the modelHash that validators register on chain, so a change here must be deliberate.
 */
const TINY_FILE_SHA256: Record<string, string> = {
  "config.json": "b5285040ea1eaee246a45b7a357b6d2991c14be2be039857e68378dff2013d25",
  "generation_config.json": "ea54bc340ff11775103fc33fc33347220896db92a2f8e37aa761a67b31fe532c",
  "tokenizer.json": "4bceaeb0c4f5d63fa06c1feef7d09970a22696c113d1e9f8fdb5ee50d8cd2f4e",
  "tokenizer_config.json": "5fe9b55a2d89ea0f84b02fc900bb317ccbd6c236a2f32870582f50cfad3f9f5f",
  "onnx/model.onnx": "0921a64786637009055ce5fe5d5c222490d9af94f23ec0015ee7861daeeca536",
};

/** modelHash of the tiny preset (what validators running the demo register). */
const TINY_MODEL_HASH = "0x455a0dfc004af13d988c4989b86f24796b7df455085da938d3571ace8934dde5";

async function fileHashes(dir: string, files: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of files) out[f] = createHash("sha256").update(await fs.readFile(path.join(dir, f))).digest("hex");
  return out;
}

describe("inference/buildModel", function () {
  after(removeTempDirs);

  it("builds the tiny preset byte-identical to the pinned sha256 of each file", async function () {
    const dir = path.join(await makeTempDir("build"), "tiny");
    const built = await buildModel(dir, "tiny");
    expect(built.files).to.deep.equal(Object.keys(TINY_FILE_SHA256));
    expect(await fileHashes(dir, built.files)).to.deep.equal(TINY_FILE_SHA256);
    expect(await computeModelHash(dir)).to.equal(TINY_MODEL_HASH);
  });

  it("gives byte-identical files on a second build and different weights for a different seed", async function () {
    const root = await makeTempDir("build-twice");
    const a = await buildModel(path.join(root, "a"), "tiny");
    const b = await buildModel(path.join(root, "b"), "tiny");
    const c = await buildModel(path.join(root, "c"), { ...MODEL_PRESETS.tiny, seed: 7 });
    const hashesA = await fileHashes(a.dir, a.files);
    expect(await fileHashes(b.dir, b.files)).to.deep.equal(hashesA);
    const hashesC = await fileHashes(c.dir, c.files);
    expect(hashesC["onnx/model.onnx"]).to.not.equal(hashesA["onnx/model.onnx"]);
  });

  it("reports the parameter count of GPT-2 small for the gpt2-small preset shape", function () {
    // 124,439,808 is the published parameter count of gpt2 (tied output layer counted once).
    expect(gpt2ParamCount(MODEL_PRESETS["gpt2-small"])).to.equal(124_439_808);
  });

  it("refuses fused ops for grouped-query attention or float16 KV, which MultiHeadAttention does not take", async function () {
    const dir = path.join(await makeTempDir("fused-gqa"), "m");
    for (const variant of [{ nKvHead: 2 }, { kvDtype: "float16" as const }]) {
      await buildModel(dir, { ...MODEL_PRESETS.tiny, ...variant, fusedOps: true }).then(
        () => expect.fail("built"),
        (err: Error) => expect(err).to.be.instanceOf(RangeError).with.property("message").that.contains("fusedOps builds float32 multi-head attention only"),
      );
    }
    expect(await fs.readdir(path.dirname(dir))).to.deep.equal([]);
  });

  it("ensureTinyModel builds a missing folder once and leaves an existing one alone", async function () {
    const dir = path.join(await makeTempDir("ensure"), "tiny");
    expect(await ensureTinyModel(dir)).to.equal(dir);
    const graph = path.join(dir, "onnx", "model.onnx");
    const before = (await fs.stat(graph)).mtimeMs;
    await ensureTinyModel(dir);
    expect((await fs.stat(graph)).mtimeMs).to.equal(before);
  });

  it("two concurrent ensureTinyModel calls leave one complete model", async function () {
    const dir = path.join(await makeTempDir("ensure-race"), "tiny");
    await Promise.all([ensureTinyModel(dir), ensureTinyModel(dir)]);
    const entries = await fs.readdir(path.dirname(dir));
    expect(entries).to.deep.equal(["tiny"]);
    expect((await fs.readdir(dir)).sort()).to.deep.equal(["config.json", "generation_config.json", "onnx", "tokenizer.json", "tokenizer_config.json"]);
  });
});
