/**
 * Reads a safetensors file (8-byte little-endian header length, JSON header, raw little-endian data) holding
 * float32 tensors, as train_gpt.py writes it. Only F32 is accepted: that is all the graph writer takes.
 */
export function readSafetensors(file: Uint8Array): Map<string, Float32Array> {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.byteLength < 8) throw new RangeError("safetensors file is shorter than its 8-byte header length");
  const headerLength = Number(view.getBigUint64(0, true));
  const dataStart = 8 + headerLength;
  if (dataStart > file.byteLength) throw new RangeError(`safetensors header length ${headerLength} runs past the end of the file`);
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, dataStart))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, Float32Array>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (entry.dtype !== "F32") throw new RangeError(`tensor ${name} is ${entry.dtype}, only F32 is read`);
    const [begin, end] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * 4 || dataStart + end > file.byteLength) throw new RangeError(`tensor ${name}: offsets ${begin}..${end} do not match shape [${entry.shape}]`);
    // copied, so each tensor is aligned and independent of the file buffer (little-endian hosts only, like onnxruntime-node)
    const bytes = new Uint8Array(end - begin);
    bytes.set(file.subarray(dataStart + begin, dataStart + end));
    out.set(name, new Float32Array(bytes.buffer));
  }
  return out;
}
