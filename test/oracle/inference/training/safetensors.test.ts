import { expect } from "chai";
import { buildGpt2Graph } from "../../../../oracle/src/inference/builder/gpt2Graph";
import { readSafetensors } from "../../../../oracle/src/inference/training/safetensors";

/** A safetensors file as train_gpt.py writes it: u64 header length, JSON header padded to 8 bytes, data. */
function safetensors(tensors: Record<string, { dtype?: string; shape: number[]; values: number[] }>): Uint8Array {
  const header: Record<string, unknown> = {};
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = new Uint8Array(Float32Array.from(t.values).buffer);
    header[name] = { dtype: t.dtype ?? "F32", shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    blobs.push(bytes);
    offset += bytes.length;
  }
  let text = JSON.stringify(header);
  text += " ".repeat((8 - (text.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([length, Buffer.from(text), ...blobs]);
}

describe("inference/training/safetensors", function () {
  it("reads every float32 tensor by name with its values", function () {
    const file = safetensors({ "a.weight": { shape: [2, 2], values: [1, 2, 3, 4.5] }, "a.bias": { shape: [3], values: [-1, 0, 1e-8] } });
    const read = readSafetensors(file);
    expect([...read.keys()]).to.deep.equal(["a.weight", "a.bias"]);
    expect(Array.from(read.get("a.weight")!)).to.deep.equal([1, 2, 3, 4.5]);
    expect(Array.from(read.get("a.bias")!)).to.deep.equal(Array.from(Float32Array.of(-1, 0, 1e-8)));
  });

  it("refuses other dtypes and offsets that do not match the shape", function () {
    expect(() => readSafetensors(safetensors({ x: { dtype: "F16", shape: [1], values: [1] } }))).to.throw(RangeError, "tensor x is F16");
    expect(() => readSafetensors(safetensors({ x: { shape: [3], values: [1, 2] } }))).to.throw(RangeError, "do not match shape [3]");
  });
});

describe("inference/builder/gpt2Graph with trained weights", function () {
  const shape = { vocabSize: 300, nPositions: 8, nEmbd: 8, nLayer: 1, nHead: 2, layerNormEpsilon: 1e-5 };

  it("names the first tensor the trained weights lack", function () {
    expect(() => buildGpt2Graph(shape, { tensors: new Map() })).to.throw(RangeError, "trained weights have no tensor transformer.wte.weight");
  });

  it("names a tensor whose size does not fit the shape", function () {
    const tensors = new Map([["transformer.wte.weight", new Float32Array(300 * 8)], ["transformer.wpe.weight", new Float32Array(7 * 8)]]);
    expect(() => buildGpt2Graph(shape, { tensors })).to.throw(RangeError, "trained tensor transformer.wpe.weight has 56 values, the shape needs 64");
  });
});
