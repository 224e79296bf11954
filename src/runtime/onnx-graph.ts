/**
 * A small, deterministic ONNX graph builder over onnx-proto's ModelProto.
 *
 * Values are named by a per-graph counter (`<hint>_<n>`), never by time or randomness, so the
 * same calls always serialise to the same bytes. Weights go in as raw little-endian bytes
 * (TensorProto.raw_data), which protobufjs copies in one piece instead of one float at a time.
 */
import { endianness } from 'node:os';
import onnxProto from 'onnx-proto';
import { ValidationError } from '../errors.js';

const { onnx } = onnxProto;

/** ONNX IR version and default-domain opset the exporters target (ORT >= 1.14 runs both). */
export const IR_VERSION = 8;
export const OPSET = 17;

/** A node attribute, tagged by its ONNX type. */
export type Attr =
  | { readonly i: number }
  | { readonly f: number }
  | { readonly ints: readonly number[] }
  | { readonly s: string };

/** A dimension: a fixed size, or a symbolic name (e.g. 'batch') for a dynamic one. */
export type Dim = number | string;

function attrProto(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in a) return { name, type: T.INT, i: a.i };
  if ('f' in a) return { name, type: T.FLOAT, f: a.f };
  if ('ints' in a) return { name, type: T.INTS, ints: [...a.ints] };
  return { name, type: T.STRING, s: new TextEncoder().encode(a.s) };
}

function valueInfo(name: string, dims: readonly Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

function rawBytes(a: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly inits: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  /** Small integer constants shared by value (shapes, axes, split sizes). */
  private readonly intConsts = new Map<string, string>();
  private readonly sharedConsts = new Map<string, string>();
  private counter = 0;

  constructor(private readonly graphName: string) {
    if (endianness() !== 'LE') {
      throw new ValidationError('ONNX raw tensor data is little-endian; this CPU is big-endian');
    }
  }

  /** A fresh value name. */
  fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  /** A float32 graph input with the given (possibly symbolic) shape. */
  input(name: string, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  /** Declares `value` as a float32 graph output named `name` (through an Identity if renamed). */
  output(value: string, dims: readonly Dim[], name = value): void {
    if (name !== value) {
      this.nodes.push({
        opType: 'Identity',
        name: `identity_node_${this.nodes.length}`,
        input: [value],
        output: [name],
      });
    }
    this.outputs.push(valueInfo(name, dims));
  }

  /** A float32 initializer (a weight or a constant) of the given shape. */
  weight(hint: string, data: Float32Array, dims: readonly number[]): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (data.length !== n) {
      throw new ValidationError(`initializer ${hint}: ${data.length} values for shape [${dims}]`);
    }
    const name = this.fresh(hint);
    this.inits.push({
      name,
      dims: [...dims],
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: rawBytes(data),
    });
    return name;
  }

  /** An int8 or uint8 initializer (quantized weights and zero points, quantize.ts). */
  byteWeight(hint: string, data: Int8Array | Uint8Array, dims: readonly number[]): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (data.length !== n) {
      throw new ValidationError(`initializer ${hint}: ${data.length} values for shape [${dims}]`);
    }
    const name = this.fresh(hint);
    const T = onnx.TensorProto.DataType;
    this.inits.push({
      name,
      dims: [...dims],
      dataType: data instanceof Int8Array ? T.INT8 : T.UINT8,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  /** A float32 constant made once per graph under `key` (masks shared by every layer). */
  shared(key: string, make: () => { data: Float32Array; dims: number[] }): string {
    let name = this.sharedConsts.get(key);
    if (!name) {
      const { data, dims } = make();
      name = this.weight(key, data, dims);
      this.sharedConsts.set(key, name);
    }
    return name;
  }

  /** A float32 scalar-like constant, shaped for broadcasting (default a 0-d scalar). */
  scalar(value: number, dims: readonly number[] = []): string {
    return this.weight('const', new Float32Array([value]), dims);
  }

  /** A 1-D int64 constant (shapes, axes, sizes), deduplicated by value. */
  ints(values: readonly number[]): string {
    return this.intConst(values, [values.length]);
  }

  /** A 0-d int64 constant (CumSum's axis). */
  int(value: number): string {
    return this.intConst([value], []);
  }

  private intConst(values: readonly number[], dims: number[]): string {
    const key = `${dims.length}:${values.join(',')}`;
    let name = this.intConsts.get(key);
    if (!name) {
      name = this.fresh('i64');
      this.inits.push({
        name,
        dims,
        dataType: onnx.TensorProto.DataType.INT64,
        rawData: rawBytes(BigInt64Array.from(values, (v) => BigInt(v))),
      });
      this.intConsts.set(key, name);
    }
    return name;
  }

  /** Adds one node; returns its output names (`nOut` of them). */
  opN(
    opType: string,
    inputs: readonly string[],
    attrs: Readonly<Record<string, Attr>> = {},
    nOut = 1,
  ): string[] {
    const hint = opType.toLowerCase();
    const output = Array.from({ length: nOut }, () => this.fresh(hint));
    this.nodes.push({
      opType,
      name: `${hint}_node_${this.nodes.length}`,
      input: [...inputs],
      output,
      attribute: Object.entries(attrs).map(([k, v]) => attrProto(k, v)),
    });
    return output;
  }

  /** Adds one single-output node; returns its output name. */
  op(
    opType: string,
    inputs: readonly string[],
    attrs: Readonly<Record<string, Attr>> = {},
  ): string {
    return this.opN(opType, inputs, attrs, 1)[0]!;
  }

  /** Serialises the model. */
  toBytes(docString = ''): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'matsearch',
      docString,
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.inits,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  /** Number of nodes so far (for reports). */
  get nodeCount(): number {
    return this.nodes.length;
  }
}
