import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { loadEngine, NonRetryableError } from "../../../oracle/src/inference";
import { copyModel, removeTempDirs, tinyModelDir } from "./fixtures";

describe("inference/modelFolder", function () {
  after(removeTempDirs);

  for (const file of ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"]) {
    it(`rejects a folder without ${file} with a NonRetryableError naming it`, async function () {
      const dir = await copyModel(await tinyModelDir(), "missing");
      await fs.rm(path.join(dir, file));
      const err = await loadEngine({ modelDir: dir, providers: ["cpu"] }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NonRetryableError);
      expect((err as Error).message).to.contain(path.join(dir, file));
    });
  }

  it("rejects a folder that does not exist", async function () {
    const err = await loadEngine({ modelDir: "/nonexistent/model", providers: ["cpu"] }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(NonRetryableError);
    expect((err as Error).message).to.equal("model folder not found: /nonexistent/model");
  });

  it("loads the optimum-cli layout (model.onnx at the top, no generation_config.json) with the same output", async function () {
    const tiny = await tinyModelDir();
    const dir = await copyModel(tiny, "optimum");
    await fs.rename(path.join(dir, "onnx", "model.onnx"), path.join(dir, "model.onnx"));
    await fs.rm(path.join(dir, "onnx"), { recursive: true });
    await fs.rm(path.join(dir, "generation_config.json"));
    const [a, b] = await Promise.all([loadEngine({ modelDir: tiny, providers: ["cpu"] }), loadEngine({ modelDir: dir, providers: ["cpu"] })]);
    try {
      const prompt = "The chain";
      expect((await b.generate({ prompt })).tokenIds).to.deep.equal((await a.generate({ prompt })).tokenIds);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
