import { expect } from "chai";
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { computeModelHash, listModelFiles } from "../../../oracle/src/inference/modelHash";
import { NonRetryableError } from "../../../oracle/src/errors";
import { makeTempDir, removeTempDirs } from "./fixtures";

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), content);
  }
}

describe("inference/modelHash", function () {
  after(removeTempDirs);

  it("hashes path, NUL, decimal size, NUL, contents of each file in byte order of the paths", async function () {
    const dir = await makeTempDir("hash");
    await writeFiles(dir, { "tokenizer.json": "{}", "onnx/model.onnx": "graph", "Z.json": "z", ".DS_Store": "ignored" });
    expect(await listModelFiles(dir)).to.deep.equal(["Z.json", "onnx/model.onnx", "tokenizer.json"]);
    const expected = createHash("sha256")
      .update("Z.json\u00001\u0000z")
      .update("onnx/model.onnx\u00005\u0000graph")
      .update("tokenizer.json\u00002\u0000{}")
      .digest("hex");
    expect(await computeModelHash(dir)).to.equal("0x" + expected);
  });

  it("changes when a byte moves from one file to another", async function () {
    const a = await makeTempDir("hash-a");
    const b = await makeTempDir("hash-b");
    await writeFiles(a, { "a.json": "xy", "b.json": "z" });
    await writeFiles(b, { "a.json": "x", "b.json": "yz" });
    expect(await computeModelHash(a)).to.not.equal(await computeModelHash(b));
  });

  it("rejects an empty or missing folder", async function () {
    const empty = await makeTempDir("hash-empty");
    for (const dir of [empty, path.join(empty, "missing")]) {
      const err = await computeModelHash(dir).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NonRetryableError);
      expect((err as Error).message).to.contain(dir);
    }
  });
});
