import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import { loadEngine, NonRetryableError, type OnnxInferenceEngine } from "../../../oracle/src/inference";
import { buildModel, MODEL_PRESETS } from "../../../oracle/src/inference/buildModel";
import { ElemType, OnnxGraphBuilder } from "../../../oracle/src/inference/builder/onnxGraph";
import { sharedTinyEngine } from "../../helpers/engines";
import { copyModel, makeTempDir, PROMPTS, removeTempDirs, tinyModelDir } from "./fixtures";

/** Replaces a model folder's graph with a one-op graph taking `inputs` (each int64 [batch, seq]). */
async function writeToyGraph(dir: string, inputs: string[], vocab: number): Promise<void> {
  const g = new OnnxGraphBuilder();
  const table = g.floatTensor("table", [vocab, vocab], new Float32Array(vocab * vocab));
  let logits: string | undefined;
  for (const name of inputs) {
    g.input(name, ElemType.INT64, ["batch_size", "sequence_length"]);
    const looked = g.op("Gather", [table, name], { axis: 0 });
    logits = logits ? g.op("Add", [logits, looked]) : looked;
  }
  g.node("Identity", [logits!], {}, ["logits"]);
  g.output("logits", ElemType.FLOAT, ["batch_size", "sequence_length", vocab]);
  await fs.writeFile(path.join(dir, "onnx", "model.onnx"), g.serialize({ opset: 17, producer: "test" }).graph);
}

async function loadError(modelDir: string): Promise<Error> {
  const err = await loadEngine({ modelDir, providers: ["cpu"] }).then(
    (e) => e.close().then(() => new Error("loaded")),
    (e: Error) => e,
  );
  expect(err).to.be.instanceOf(NonRetryableError);
  return err;
}

describe("inference/decoderModel", function () {
  let engine: OnnxInferenceEngine;

  before(async function () {
    engine = await sharedTinyEngine();
  });

  after(async function () {
    await removeTempDirs();
  });

  const encodeAll = (): number[][] => PROMPTS.map((p) => engine.tokenizer.encode(p));

  it("gives every row of a left-padded batch of mixed lengths the tokens it gets alone", async function () {
    const prompts = encodeAll();
    expect(new Set(prompts.map((p) => p.length)).size).to.be.greaterThan(2);
    const batch = await engine.model.generateBatch(prompts.map((promptIds) => ({ promptIds, maxNewTokens: 16 })));
    for (let i = 0; i < prompts.length; i++) {
      const [alone] = await engine.model.generateBatch([{ promptIds: prompts[i], maxNewTokens: 16 }]);
      expect(batch[i].tokenIds, PROMPTS[i]).to.deep.equal(alone.tokenIds);
    }
  });

  it("computes the same logits with and without the KV cache (within 1e-4), batched", async function () {
    const requests = encodeAll().map((promptIds) => ({ promptIds, maxNewTokens: 12 }));
    const cached = await engine.model.generateBatch(requests, { useCache: true, collectLogits: true });
    const uncached = await engine.model.generateBatch(requests, { useCache: false, collectLogits: true });
    let worst = 0;
    cached.forEach((row, i) => {
      expect(row.tokenIds).to.deep.equal(uncached[i].tokenIds);
      row.stepLogits!.forEach((step, s) => {
        const other = uncached[i].stepLogits![s];
        for (let j = 0; j < step.length; j++) worst = Math.max(worst, Math.abs(step[j] - other[j]));
      });
    });
    expect(worst).to.be.lessThan(1e-4);
  });

  it("calls onStep once per forward pass, with and without the KV cache, with the time each step ended", async function () {
    for (const useCache of [true, false]) {
      const endedAt: number[] = [];
      const before = Date.now();
      const [result] = await engine.model.generateBatch([{ promptIds: encodeAll()[0], maxNewTokens: 6 }], { useCache, onStep: (t) => endedAt.push(t) });
      const after = Date.now();
      expect(result.tokenIds).to.have.length(6);
      expect(endedAt).to.have.length(6);
      // epoch milliseconds of the worker's clock: inside the call, in order
      expect(endedAt[0]).to.be.within(before - 1, after + 1);
      expect(endedAt[5]).to.be.within(endedAt[0], after + 1);
      for (let i = 1; i < 6; i++) expect(endedAt[i]).to.be.at.least(endedAt[i - 1]);
    }
  });

  it("stops at the EOS token with finishReason eos and no text for it", async function () {
    const dir = await copyModel(engine.modelDir, "eos");
    const first = (await engine.generate({ prompt: PROMPTS[0], maxNewTokens: 1 })).tokenIds[0];
    const genConfig = JSON.parse(await fs.readFile(path.join(dir, "generation_config.json"), "utf8"));
    await fs.writeFile(path.join(dir, "generation_config.json"), JSON.stringify({ ...genConfig, eos_token_id: [511, first] }));
    const eosEngine = await loadEngine({ modelDir: dir, providers: ["cpu"] });
    try {
      const r = await eosEngine.generate({ prompt: PROMPTS[0], maxNewTokens: 10 });
      expect(r.tokenIds).to.deep.equal([first]);
      expect(r.finishReason).to.equal("eos");
      expect(r.text).to.equal("");
    } finally {
      await eosEngine.close();
    }
  });

  it("reads grouped-query attention and fp16 KV tensors from the graph; batch, cache and no-cache agree", async function () {
    const dir = path.join(await makeTempDir("gqa"), "m");
    await buildModel(dir, { ...MODEL_PRESETS.tiny, nKvHead: 2, kvDtype: "float16" });
    const gqa = await loadEngine({ modelDir: dir, providers: ["cpu"] });
    try {
      expect([gqa.model.kvHeads, gqa.model.headDim, gqa.model.kvType]).to.deep.equal([2, 16, "float16"]);
      const prompts = encodeAll();
      const requests = prompts.map((promptIds) => ({ promptIds, maxNewTokens: 12 }));
      const cached = await gqa.model.generateBatch(requests);
      const uncached = await gqa.model.generateBatch(requests, { useCache: false });
      for (let i = 0; i < prompts.length; i++) {
        const [alone] = await gqa.model.generateBatch([requests[i]]);
        expect(cached[i].tokenIds).to.deep.equal(alone.tokenIds).and.to.deep.equal(uncached[i].tokenIds);
        expect(new Set(alone.tokenIds).size).to.be.greaterThan(1);
      }
    } finally {
      await gqa.close();
    }
  });

  it("runs a graph without a position_ids input with the same tokens as the one with it", async function () {
    const dir = path.join(await makeTempDir("no-positions"), "m");
    await buildModel(dir, { ...MODEL_PRESETS.tiny, positionIdsInput: false });
    const noPositions = await loadEngine({ modelDir: dir, providers: ["cpu"] });
    try {
      expect(noPositions.model.hasPositionIds).to.equal(false);
      const requests = encodeAll().map((promptIds) => ({ promptIds, maxNewTokens: 12 }));
      const expected = await engine.model.generateBatch(requests);
      const got = await noPositions.model.generateBatch(requests);
      expect(got.map((r) => r.tokenIds)).to.deep.equal(expected.map((r) => r.tokenIds));
    } finally {
      await noPositions.close();
    }
  });

  it("runs a graph of onnxruntime's fused contrib ops with the plain graph's logits (within 1e-4); batch, cache and no-cache agree", async function () {
    const dir = path.join(await makeTempDir("fused"), "m");
    await buildModel(dir, { ...MODEL_PRESETS.tiny, fusedOps: true });
    const graph = onnx.ModelProto.decode(await fs.readFile(path.join(dir, "onnx", "model.onnx")));
    const opTypes = new Set(graph.graph!.node!.map((n) => `${n.domain ?? ""}:${n.opType}`));
    for (const op of ["com.microsoft:MultiHeadAttention", "com.microsoft:SkipLayerNormalization", "com.microsoft:BiasGelu"]) expect(opTypes).to.include(op);
    expect(graph.graph!.node!.some((n) => n.opType === "Softmax")).to.equal(false);
    const fused = await loadEngine({ modelDir: dir, providers: ["cpu"], threads: 1 });
    try {
      const requests = encodeAll().map((promptIds) => ({ promptIds, maxNewTokens: 12 }));
      const plain = await engine.model.generateBatch(requests, { collectLogits: true });
      const cached = await fused.model.generateBatch(requests, { collectLogits: true });
      const uncached = await fused.model.generateBatch(requests, { useCache: false });
      let worst = 0;
      for (let i = 0; i < requests.length; i++) {
        const [alone] = await fused.model.generateBatch([requests[i]]);
        expect(cached[i].tokenIds).to.deep.equal(plain[i].tokenIds).and.to.deep.equal(alone.tokenIds).and.to.deep.equal(uncached[i].tokenIds);
        cached[i].stepLogits!.forEach((step, s) => {
          const other = plain[i].stepLogits![s];
          for (let j = 0; j < step.length; j++) worst = Math.max(worst, Math.abs(step[j] - other[j]));
        });
      }
      expect(worst).to.be.lessThan(1e-4);
    } finally {
      await fused.close();
    }
  });

  it("rejects a graph without attention_mask, naming the tensor", async function () {
    const dir = await copyModel(engine.modelDir, "no-mask");
    await writeToyGraph(dir, ["input_ids"], 512);
    expect((await loadError(dir)).message).to.contain('has no input "attention_mask"').and.contain("model.onnx");
  });

  it("rejects a graph input a decoder-only model does not take, naming the tensor", async function () {
    const dir = await copyModel(engine.modelDir, "extra-input");
    await writeToyGraph(dir, ["input_ids", "attention_mask", "token_type_ids"], 512);
    expect((await loadError(dir)).message).to.contain('input "token_type_ids"');
  });

  it("rejects a tokenizer with more tokens than the model's logits, naming both", async function () {
    const dir = await copyModel(engine.modelDir, "vocab");
    const file = path.join(dir, "tokenizer.json");
    const tokenizer = JSON.parse(await fs.readFile(file, "utf8"));
    tokenizer.added_tokens.push({ id: 600, content: "<|extra|>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    await fs.writeFile(file, JSON.stringify(tokenizer));
    const message = (await loadError(dir)).message;
    expect(message).to.contain("vocabulary mismatch: tokenizer.json has 601 tokens").and.contain('output "logits"').and.contain("has 512");
  });

  it("rejects a config.json vocab_size that disagrees with the logits", async function () {
    const dir = await copyModel(engine.modelDir, "config-vocab");
    const file = path.join(dir, "config.json");
    await fs.writeFile(file, JSON.stringify({ ...JSON.parse(await fs.readFile(file, "utf8")), vocab_size: 1000 }));
    expect((await loadError(dir)).message).to.contain("config.json vocab_size 1000").and.contain('"logits"');
  });
});
