import { onnx } from "onnx-proto";

const AttributeType = onnx.AttributeProto.AttributeType;
export const ElemType = onnx.TensorProto.DataType;

type AttrValue = number | number[] | string | { float: number };
type Dim = number | string;

/** A weight tensor that may be written to an external data file instead of the graph file. */
interface Initializer {
  name: string;
  dims: number[];
  dataType: number;
  bytes: Uint8Array;
}

function toBytes(data: Float32Array | BigInt64Array): Uint8Array {
  // TypedArrays are little-endian on every platform Node supports, which is what ONNX raw_data requires.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Minimal ONNX graph writer: nodes get unique names and outputs in insertion order, so the same calls always
 * serialize to the same bytes.
 */
export class OnnxGraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly domains = new Set<string>();
  private counter = 0;

  input(name: string, elemType: number, shape: Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, shape));
    return name;
  }

  output(name: string, elemType: number, shape: Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, shape));
  }

  floatTensor(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push({ name, dims, dataType: ElemType.FLOAT, bytes: toBytes(data) });
    return name;
  }

  int64Tensor(name: string, dims: number[], values: number[]): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims, dataType: ElemType.INT64, bytes: toBytes(data) });
    return name;
  }

  /** Adds a node; returns its output names (`outputNames` fixes them, e.g. for graph outputs). */
  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputNames?: string[], outputCount = 1): string[] {
    return this.domainNode("", opType, inputs, attrs, outputNames, outputCount);
  }

  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.node(opType, inputs, attrs)[0];
  }

  /**
   * A node of another operator domain (e.g. onnxruntime's `com.microsoft` contrib ops); the domain is imported at
   * version 1 on serialization. An empty string in `outputNames` leaves that optional output unset.
   */
  domainNode(domain: string, opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputNames?: string[], outputCount = 1): string[] {
    const id = this.counter++;
    const outputs = outputNames ?? Array.from({ length: outputCount }, (_, i) => `/${opType}_${id}/output_${i}`);
    if (domain) this.domains.add(domain);
    this.nodes.push({
      name: `/${opType}_${id}`,
      opType,
      ...(domain && { domain }),
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([name, value]) => attribute(name, value)),
    });
    return outputs;
  }

  /** A fresh intermediate tensor name, for optional outputs that a later node reads. */
  tensorName(label: string): string {
    return `/${label}_${this.counter++}/output_0`;
  }

  /**
   * Serializes the model. With `externalDataFile`, weights go to that file (next to the graph) the way
   * Optimum writes models over 2 GB; `external` receives its bytes.
   */
  serialize(opts: { opset: number; producer: string; externalDataFile?: string }): { graph: Uint8Array; external?: Uint8Array[] } {
    const external: Uint8Array[] = [];
    let offset = 0;
    const initializer = this.initializers.map((t): onnx.ITensorProto => {
      // Small tensors stay inline like onnx's own converter does (size_threshold 1024): shape inference must
      // read constants such as split sizes and reshape targets from the graph file.
      if (!opts.externalDataFile || t.bytes.byteLength < 1024) return { name: t.name, dims: t.dims, dataType: t.dataType, rawData: t.bytes };
      const padding = (64 - (offset % 64)) % 64; // keep each tensor 64-byte aligned for memory mapping
      if (padding) external.push(new Uint8Array(padding));
      offset += padding;
      external.push(t.bytes);
      const entry: onnx.ITensorProto = {
        name: t.name,
        dims: t.dims,
        dataType: t.dataType,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: "location", value: opts.externalDataFile },
          { key: "offset", value: String(offset) },
          { key: "length", value: String(t.bytes.byteLength) },
        ],
      };
      offset += t.bytes.byteLength;
      return entry;
    });
    const model: onnx.IModelProto = {
      irVersion: 8,
      producerName: opts.producer,
      // Only graphs with contrib ops import their domain, so plain graphs keep their bytes.
      opsetImport: [{ domain: "", version: opts.opset }, ...[...this.domains].map((domain) => ({ domain, version: 1 }))],
      graph: { name: "main_graph", node: this.nodes, initializer, input: this.inputs, output: this.outputs },
    };
    const graph = onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
    return { graph, external: opts.externalDataFile ? external : undefined };
  }
}

function valueInfo(name: string, elemType: number, shape: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  if (typeof value === "number") return { name, type: AttributeType.INT, i: value };
  if (typeof value === "string") return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  return { name, type: AttributeType.FLOAT, f: value.float };
}
