/**
 * Writes a manifest of a built model's weights for bench/gpu/pytorch_eager.py: name, dims and where the
 * float32 bytes are (model.onnx_data for external tensors, a side file for inline ones), so PyTorch runs on
 * exactly the bytes onnxruntime runs on.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { onnx } from "onnx-proto";

export interface WeightManifest {
  config: Record<string, unknown>;
  tensors: Array<{ name: string; dims: number[]; file: string; offset: number; length: number }>;
}

export async function writeWeightManifest(modelDir: string, outDir: string): Promise<string> {
  const graphPath = path.join(modelDir, "onnx", "model.onnx");
  const model = onnx.ModelProto.decode(await fs.readFile(graphPath));
  const inlineFile = path.join(outDir, "inline_weights.bin");
  const inlineChunks: Uint8Array[] = [];
  let inlineOffset = 0;
  const tensors: WeightManifest["tensors"] = [];
  for (const t of model.graph?.initializer ?? []) {
    if (!t.name?.startsWith("transformer.")) continue; // constants of the graph, not weights
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT) throw new Error(`weight ${t.name} is not float32`);
    const dims = (t.dims ?? []).map(Number);
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      const entry = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
      tensors.push({ name: t.name, dims, file: path.join(path.dirname(graphPath), String(entry.location)), offset: Number(entry.offset ?? 0), length: Number(entry.length) });
    } else {
      const bytes = t.rawData ?? new Uint8Array(0);
      tensors.push({ name: t.name, dims, file: inlineFile, offset: inlineOffset, length: bytes.byteLength });
      inlineChunks.push(bytes);
      inlineOffset += bytes.byteLength;
    }
  }
  await fs.mkdir(outDir, { recursive: true });
  await fs.writeFile(inlineFile, Buffer.concat(inlineChunks));
  const config = JSON.parse(await fs.readFile(path.join(modelDir, "config.json"), "utf8"));
  const manifestPath = path.join(outDir, "weights.json");
  await fs.writeFile(manifestPath, JSON.stringify({ config, tensors } satisfies WeightManifest));
  return manifestPath;
}
