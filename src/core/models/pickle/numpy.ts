import { type ArrayInfo, asInt, asList, asTuple, dictOf, isObjectOf, type PObject, type PValue } from './values.js';

/**
 * NumPy's pickled forms, read as data: a dtype (numpy.dtype REDUCE + BUILD), an array
 * (numpy.core.multiarray._reconstruct + BUILD), and joblib's NumpyArrayWrapper, after which joblib
 * writes the array's bytes raw into the stream. Anything that does not look exactly as NumPy writes
 * it throws: the reader must never guess how many raw bytes follow.
 */

export const NUMPY_MODULES = ['numpy', 'numpy.core.multiarray', 'numpy._core.multiarray'] as const;
const JOBLIB_MODULES = ['joblib.numpy_pickle', 'sklearn.externals.joblib.numpy_pickle'];

export interface DtypeInfo {
  /** NumPy's dtype.str, e.g. '<f8', '|O', '<U5'. */
  str: string;
  kind: string;
  itemsize: number;
  hasObject: boolean;
  littleEndian: boolean;
}

export class NumpyFormatError extends Error {}

export function dtypeInfo(v: PValue | undefined): DtypeInfo {
  if (!isObjectOf(v, 'numpy', 'dtype')) throw new NumpyFormatError('an array dtype that is not a numpy.dtype');
  const spec = v.args[0];
  if (typeof spec !== 'string') throw new NumpyFormatError('a numpy.dtype without a type code');
  const m = /^([a-zA-Z?])(\d*)$/.exec(spec);
  if (!m) throw new NumpyFormatError(`a numpy.dtype with the type code ${JSON.stringify(spec.slice(0, 40))}`);
  const kind = m[1]!;
  const state = asTuple(v.state) ?? [];
  const endian = typeof state[1] === 'string' ? state[1] : '|';
  const elsize = asInt(state[5]) ?? -1;
  const flags = asInt(state[7]) ?? 0;
  const fields = state[4];
  const itemsize = elsize > 0 ? elsize : m[2] ? Number(m[2]) : kind === 'O' ? 8 : Number.NaN;
  if (!Number.isSafeInteger(itemsize) || itemsize < 0)
    throw new NumpyFormatError(`a numpy.dtype ${spec} of unknown item size`);
  // Every signal that the dtype holds Python objects counts: joblib then writes a nested pickle, and
  // reading that as raw bytes would skip over whatever it imports.
  let hasObject = kind === 'O' || (flags & 1) === 1;
  const fieldMap = dictOf(fields);
  if (fieldMap) {
    for (const f of fieldMap.values()) {
      const sub = asTuple(f)?.[0];
      if (sub === undefined) throw new NumpyFormatError('a structured numpy.dtype with a malformed field');
      if (dtypeInfo(sub).hasObject) hasObject = true;
    }
  } else if (fields !== null && fields !== undefined) {
    throw new NumpyFormatError('a numpy.dtype whose fields are not a dict');
  }
  const order = endian === '>' ? '>' : endian === '<' ? '<' : '|';
  const str = kind === 'O' ? '|O' : `${order}${kind}${kind === 'U' ? itemsize / 4 : itemsize}`;
  return { str, kind, itemsize, hasObject, littleEndian: endian !== '>' };
}

export function shapeOf(v: PValue | undefined): number[] {
  const items = asTuple(v) ?? asList(v);
  if (!items) throw new NumpyFormatError('an array shape that is not a tuple');
  return items.map((d) => {
    const n = asInt(d);
    if (n === undefined || n < 0) throw new NumpyFormatError('an array shape with a negative or non-integer size');
    return n;
  });
}

export function elementCount(shape: readonly number[]): number {
  const n = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(n)) throw new NumpyFormatError('an array too large to be real');
  return n;
}

export function isJoblibArrayWrapper(v: PValue | undefined): boolean {
  return isObjectOf(v, JOBLIB_MODULES, 'NumpyArrayWrapper');
}

export function isReconstruct(v: PValue | undefined): boolean {
  return isObjectOf(v, NUMPY_MODULES.slice(1), '_reconstruct');
}

/** What follows a joblib NumpyArrayWrapper's BUILD: raw bytes of a known size, or a nested pickle. */
export interface RawArrayPlan {
  shape: number[];
  dtype: DtypeInfo;
  /** Alignment padding: one length byte then that many bytes (joblib ≥ 1.2 on seekable files). */
  padded: boolean;
  nbytes: number;
}

export function planJoblibArray(wrapper: PObject): RawArrayPlan {
  const state = dictOf(wrapper.state);
  if (!state) throw new NumpyFormatError('a joblib NumpyArrayWrapper without its state dict');
  const shape = shapeOf(state.get('shape'));
  const dtype = dtypeInfo(state.get('dtype'));
  const align = state.get('numpy_array_alignment_bytes');
  const padded = align !== undefined && align !== null;
  if (padded && asInt(align) === undefined) throw new NumpyFormatError('a joblib array alignment that is not a number');
  const nbytes = dtype.hasObject ? 0 : elementCount(shape) * dtype.itemsize;
  if (!Number.isSafeInteger(nbytes)) throw new NumpyFormatError('an array too large to be real');
  return { shape, dtype, padded: padded && !dtype.hasObject, nbytes };
}

export function isFrombuffer(v: PValue | undefined): boolean {
  return isObjectOf(v, ['numpy.core.numeric', 'numpy._core.numeric'], '_frombuffer');
}

/** Raw bytes as a pickle holds them: bytes, or (protocol 2) _codecs.encode(text, 'latin1'). */
function rawBytes(v: PValue | undefined): Buffer | undefined {
  if (typeof v === 'object' && v !== null) {
    if (v.t === 'bytes') return v.data;
    if (isObjectOf(v, '_codecs', 'encode') && typeof v.args[0] === 'string' && v.args[1] === 'latin1')
      return Buffer.from(v.args[0], 'latin1');
  }
  if (typeof v === 'string') return Buffer.from(v, 'latin1');
  return undefined;
}

/** numpy.core.numeric._frombuffer(buffer, dtype, shape, order): protocol 5's in-band array. */
export function arrayFromBuffer(args: PValue[]): ArrayInfo {
  const dtype = dtypeInfo(args[1]);
  const shape = shapeOf(args[2]);
  const info: ArrayInfo = { shape, dtype: dtype.str };
  const raw = rawBytes(args[0]);
  if (raw) {
    const values = decodeRaw(raw, dtype, elementCount(shape));
    if (values) info.values = values;
  }
  return info;
}

/** BUILD on _reconstruct(ndarray, …): state (version, shape, dtype, is_fortran, data). */
export function arrayFromReconstruct(state: PValue | undefined): ArrayInfo {
  const items = asTuple(state);
  if (!items || items.length < 5)
    throw new NumpyFormatError('an ndarray state that is not (version, shape, dtype, fortran, data)');
  const shape = shapeOf(items[1]);
  const dtype = dtypeInfo(items[2]);
  const data = items[4];
  const info: ArrayInfo = { shape, dtype: dtype.str };
  const list = asList(data);
  if (list) info.values = list;
  else {
    const raw = rawBytes(data);
    const values = raw && decodeRaw(raw, dtype, elementCount(shape));
    if (values) info.values = values;
  }
  return info;
}

/** Decode raw array bytes into JavaScript values for the kinds a signature needs. */
export function decodeRaw(buf: Buffer, dtype: DtypeInfo, count: number): ArrayInfo['values'] | undefined {
  if (buf.length < count * dtype.itemsize) return undefined;
  const le = dtype.littleEndian;
  const out: NonNullable<ArrayInfo['values']> = [];
  for (let i = 0; i < count; i++) {
    const at = i * dtype.itemsize;
    switch (`${dtype.kind}${dtype.itemsize}`) {
      case 'f8':
        out.push(le ? buf.readDoubleLE(at) : buf.readDoubleBE(at));
        break;
      case 'f4':
        out.push(le ? buf.readFloatLE(at) : buf.readFloatBE(at));
        break;
      case 'i8':
        out.push(narrow(le ? buf.readBigInt64LE(at) : buf.readBigInt64BE(at)));
        break;
      case 'u8':
        out.push(narrow(le ? buf.readBigUInt64LE(at) : buf.readBigUInt64BE(at)));
        break;
      case 'i4':
        out.push(le ? buf.readInt32LE(at) : buf.readInt32BE(at));
        break;
      case 'u4':
        out.push(le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
        break;
      case 'i2':
        out.push(le ? buf.readInt16LE(at) : buf.readInt16BE(at));
        break;
      case 'u2':
        out.push(le ? buf.readUInt16LE(at) : buf.readUInt16BE(at));
        break;
      case 'i1':
        out.push(buf.readInt8(at));
        break;
      case 'u1':
        out.push(buf.readUInt8(at));
        break;
      case 'b1':
        out.push(buf[at] !== 0);
        break;
      default:
        if (dtype.kind === 'U') out.push(decodeUtf32(buf.subarray(at, at + dtype.itemsize), le));
        else if (dtype.kind === 'S')
          out.push(
            buf
              .subarray(at, at + dtype.itemsize)
              .toString('latin1')
              .replace(/\0+$/, ''),
          );
        else return undefined;
    }
  }
  return out;
}

function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function decodeUtf32(b: Buffer, le: boolean): string {
  let s = '';
  for (let i = 0; i + 4 <= b.length; i += 4) {
    const cp = le ? b.readUInt32LE(i) : b.readUInt32BE(i);
    if (cp === 0) break;
    s += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
  }
  return s;
}
