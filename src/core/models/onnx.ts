import { createRequire } from 'node:module';
import { open } from 'node:fs/promises';
import type { onnx as OnnxNs } from 'onnx-proto';

/**
 * An ONNX model's inputs and outputs (names, element types, shapes), decoded with onnx-proto (the
 * onnx.proto schema compiled for protobufjs). Only the graph's input and output lists are decoded;
 * nodes and initializers (the weights) are skipped field by field.
 */

export interface TensorSpec {
  name: string;
  /** Element type in lower case, as onnx names it: float, int64, string, … */
  type: string;
  /** Each dimension: a size, a symbolic name (e.g. "batch"), or null when unknown. */
  shape: (number | string | null)[] | null;
}

export interface OnnxSignature {
  format: 'onnx';
  file: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

const MAX_ONNX_BYTES = 1 << 30;

export class OnnxFormatError extends Error {}

export async function readOnnxSignature(path: string, file: string): Promise<OnnxSignature> {
  const fh = await open(path, 'r');
  let buf: Buffer;
  try {
    const { size } = await fh.stat();
    if (size > MAX_ONNX_BYTES) throw new OnnxFormatError('an ONNX file over 1 GiB is not read for its signature');
    buf = await fh.readFile();
  } finally {
    await fh.close();
  }
  return decodeOnnxSignature(buf, file);
}

export function decodeOnnxSignature(buf: Uint8Array, file: string): OnnxSignature {
  const require = createRequire(import.meta.url);
  const { onnx } = require('onnx-proto') as { onnx: typeof OnnxNs };
  const { Reader } = require('protobufjs/minimal') as typeof import('protobufjs');
  const inputs: TensorSpec[] = [];
  const outputs: TensorSpec[] = [];
  let sawGraph = false;
  try {
    const model = Reader.create(buf);
    while (model.pos < model.len) {
      const tag = model.uint32();
      // ModelProto.graph = 7 (length-delimited GraphProto)
      if (tag >>> 3 === 7 && (tag & 7) === 2) {
        sawGraph = true;
        const len = model.uint32();
        const end = model.pos + len;
        while (model.pos < end) {
          const gtag = model.uint32();
          const field = gtag >>> 3;
          // GraphProto.input = 11, GraphProto.output = 12 (ValueInfoProto)
          if ((field === 11 || field === 12) && (gtag & 7) === 2) {
            const info = onnx.ValueInfoProto.decode(model, model.uint32());
            (field === 11 ? inputs : outputs).push(tensorSpec(info, onnx));
          } else model.skipType(gtag & 7);
        }
      } else model.skipType(tag & 7);
    }
  } catch (err) {
    throw new OnnxFormatError(`not an ONNX model mlreg can read: ${(err as Error).message}`);
  }
  if (!sawGraph) throw new OnnxFormatError('not an ONNX model: it has no graph');
  return { format: 'onnx', file, inputs, outputs };
}

function tensorSpec(info: OnnxNs.ValueInfoProto, onnx: typeof OnnxNs): TensorSpec {
  const t = info.type?.tensorType;
  const typeName = t?.elemType != null ? onnx.TensorProto.DataType[t.elemType] : undefined;
  const dims = t?.shape?.dim;
  return {
    name: info.name ?? '',
    type: typeof typeName === 'string' ? typeName.toLowerCase() : 'unknown',
    shape: dims ? dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? toNumber(d.dimValue) : null)) : null,
  };
}

function toNumber(v: number | { toNumber(): number }): number {
  return typeof v === 'number' ? v : v.toNumber();
}
