import { HIGHEST_PROTOCOL, OP, OP_NAME } from './opcodes.js';
import {
  arrayFromReconstruct,
  arrayFromBuffer,
  decodeRaw,
  isFrombuffer,
  isJoblibArrayWrapper,
  isReconstruct,
  NumpyFormatError,
  planJoblibArray,
  type RawArrayPlan,
} from './numpy.js';
import type { PObject, PValue } from './values.js';

/**
 * A pickle reader that never executes anything: it walks the opcodes of protocols 0–5 one by one
 * and rebuilds only plain data (see values.ts), recording every import (GLOBAL, INST, STACK_GLOBAL
 * with its operands taken from the stack, so memo indirection is resolved) and every call that uses
 * one (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ, BUILD).
 *
 * It is fed chunks (`push`) in the order they are read, so it can sit in the same streaming pass as
 * the hash. Memory stays flat: an opcode is parsed only when all its bytes are there (else the tail
 * is kept for the next chunk), and large payloads (BINBYTES*, long strings, and the raw array data
 * joblib writes after a NumpyArrayWrapper) are skipped as they stream by instead of buffered.
 */

export interface ImportSeen {
  module: string;
  name: string;
  /** Byte offset of the opcode in the (decompressed) stream. */
  offset: number;
  op: string;
}

export interface CallSeen {
  /** `module.name` of the callable, or a description when the callable is not an import. */
  target: string;
  offset: number;
  op: string;
  /** The callable is itself the result of a call (e.g. getattr(...)(...)): never in a plain model. */
  indirect: boolean;
}

export interface PickleResult {
  /** True when a whole pickle was read up to its STOP. */
  complete: boolean;
  /** Why reading stopped early, with the offset of the opcode that failed. */
  error?: { message: string; offset: number };
  imports: ImportSeen[];
  calls: CallSeen[];
  /** The first pickle's value (the model), when complete. */
  root?: PValue;
  protocol: number;
  /** Bytes after the first pickle's STOP that were not themselves a pickle (left unread). */
  trailingBytes: number;
  bytesRead: number;
}

export interface ReaderOptions {
  /** Payloads up to this size are kept (array data, signatures); larger ones are skipped. */
  keepLimit?: number;
  /** Refuse a pickle holding more values than this (memory bound). */
  maxValues?: number;
}

const NEED = Symbol('need more bytes');

class ParseError extends Error {}

const KEEP_LIMIT = 1 << 20;
const MAX_LINE = 1 << 20;
const MAX_VALUES = 50_000_000;
const EMPTY = Buffer.alloc(0);

interface Frame {
  stack: PValue[];
  metastack: PValue[][];
  memo: Map<number, PValue>;
  /** For a nested pickle (a joblib object array): the wrapper whose array it is. */
  arrayOf?: PObject;
}

type Mode = 'pickle' | 'padding' | 'failed' | 'ignore';

export class PickleReader {
  private buf: Buffer = EMPTY;
  private pos = 0;
  private base = 0;
  private pending: Buffer = EMPTY;
  private skip = 0;
  private capture: { into: Buffer; at: number; done: (b: Buffer) => void } | undefined;
  private mode: Mode = 'pickle';
  private frames: Frame[] = [newFrame()];
  private rawPlan: { wrapper: PObject; plan: RawArrayPlan } | undefined;
  private values = 0;
  private readonly keepLimit: number;
  private readonly maxValues: number;
  private readonly out: PickleResult = {
    complete: false,
    imports: [],
    calls: [],
    protocol: 0,
    trailingBytes: 0,
    bytesRead: 0,
  };
  private firstDone = false;
  private trailingStart = -1;

  constructor(opts: ReaderOptions = {}) {
    this.keepLimit = opts.keepLimit ?? KEEP_LIMIT;
    this.maxValues = opts.maxValues ?? MAX_VALUES;
  }

  /** Feed the next bytes. The chunk is not kept after the call returns (the caller may reuse it). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const input = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.mode === 'failed' || this.mode === 'ignore') {
      this.base += input.length;
      if (this.mode === 'ignore') this.out.trailingBytes += input.length;
      return;
    }
    this.buf = this.pending.length ? Buffer.concat([this.pending, input]) : input;
    this.pos = 0;
    this.run();
    const rest = this.buf.length - this.pos;
    this.base += this.pos;
    this.pending = rest > 0 ? Buffer.from(this.buf.subarray(this.pos)) : EMPTY;
    this.buf = EMPTY;
    this.pos = 0;
  }

  /** The stream has ended: what was found. */
  end(): PickleResult {
    const total = this.base + this.pending.length;
    this.out.bytesRead = total;
    if (this.mode === 'pickle' || this.mode === 'padding') {
      if (!this.firstDone) {
        const inRaw = this.skip > 0 || this.mode === 'padding';
        this.fail(
          inRaw
            ? 'the stream ends inside the raw data of a joblib array'
            : total === 0
              ? 'the file is empty'
              : 'the stream ends before the pickle STOP opcode',
          this.base,
        );
      } else if (this.pending.length > 0 || this.skip > 0) {
        // A second pickle began after the first and was cut short: note it, like other trailing bytes.
        this.out.trailingBytes = total - this.trailingStart;
      }
    }
    return this.out;
  }

  private run(): void {
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, this.buf.length - this.pos);
        if (this.capture) {
          this.buf.copy(this.capture.into, this.capture.at, this.pos, this.pos + n);
          this.capture.at += n;
        }
        this.pos += n;
        this.skip -= n;
        if (this.skip > 0) return;
        if (this.capture) {
          const c = this.capture;
          this.capture = undefined;
          c.done(c.into);
        }
        continue;
      }
      if (this.mode !== 'pickle' && this.mode !== 'padding') {
        this.pos = this.buf.length;
        return;
      }
      if (this.pos >= this.buf.length) return;
      const start = this.pos;
      try {
        if (this.mode === 'padding') this.readPadding();
        else this.step();
      } catch (err) {
        if (err === NEED) {
          this.pos = start;
          return;
        }
        if (err instanceof ParseError || err instanceof NumpyFormatError || err instanceof RangeError) {
          this.fail(err.message, this.base + start);
          continue;
        }
        throw err;
      }
    }
  }

  private fail(message: string, offset: number): void {
    if (this.firstDone) {
      // Bytes after a complete pickle that are not a pickle: pickle.load never reads them.
      this.mode = 'ignore';
      this.out.trailingBytes = this.base + this.buf.length - this.trailingStart;
      return;
    }
    this.mode = 'failed';
    this.out.error = { message, offset };
  }

  // --- byte access -------------------------------------------------------------------------------

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw NEED;
  }
  private u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  private u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  private u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  private i32(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  private u64(): number {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ParseError('a length larger than any real file');
    return Number(v);
  }
  private bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  private line(): string {
    const nl = this.buf.indexOf(0x0a, this.pos);
    if (nl < 0) {
      if (this.buf.length - this.pos > MAX_LINE) throw new ParseError('a text opcode argument longer than 1 MiB');
      throw NEED;
    }
    const s = this.buf.toString('latin1', this.pos, nl);
    this.pos = nl + 1;
    return s;
  }

  // --- stack -------------------------------------------------------------------------------------

  private get frame(): Frame {
    return this.frames[this.frames.length - 1]!;
  }
  private push1(v: PValue): void {
    if (++this.values > this.maxValues)
      throw new ParseError(`more than ${this.maxValues} values: too large to analyse`);
    this.frame.stack.push(v);
  }
  private pop(): PValue {
    const v = this.frame.stack.pop();
    if (v === undefined) throw new ParseError('an opcode pops from an empty stack');
    return v;
  }
  private top(): PValue {
    const v = this.frame.stack[this.frame.stack.length - 1];
    if (v === undefined) throw new ParseError('an opcode needs a value on the stack');
    return v;
  }
  private popMark(): PValue[] {
    const f = this.frame;
    const items = f.stack;
    const prev = f.metastack.pop();
    if (prev === undefined) throw new ParseError('an opcode needs a MARK that was never set');
    f.stack = prev;
    return items;
  }
  private memoPut(key: number): void {
    this.frame.memo.set(key, this.top());
  }
  private memoGet(key: number): PValue {
    const v = this.frame.memo.get(key);
    if (v === undefined) throw new ParseError(`memo key ${key} is read before it is written`);
    return v;
  }

  private recordImport(module: string, name: string, offset: number, op: string): PValue {
    this.out.imports.push({ module, name, offset, op });
    return { t: 'global', module, name };
  }
  private recordCall(callable: PValue, offset: number, op: string): void {
    if (typeof callable === 'object' && callable !== null && callable.t === 'global') {
      this.out.calls.push({ target: `${callable.module}.${callable.name}`, offset, op, indirect: false });
    } else {
      const what = typeof callable === 'object' && callable !== null ? callable.t : typeof callable;
      this.out.calls.push({
        target: what === 'object' ? 'the result of a call' : `a ${what} value`,
        offset,
        op,
        indirect: true,
      });
    }
  }

  private str(v: PValue, what: string): string {
    if (typeof v !== 'string') throw new ParseError(`${what} is not a string`);
    return v;
  }

  /** Payload opcodes: kept when small, skipped while streaming when large. */
  private payload(length: number, kind: 'bytes' | 'str'): void {
    if (length > this.keepLimit) {
      this.push1(kind === 'bytes' ? { t: 'bytes', length } : { t: 'bigstr', length });
      this.skip = length;
      return;
    }
    const b = this.bytes(length);
    this.push1(kind === 'bytes' ? { t: 'bytes', length, data: Buffer.from(b) } : b.toString('utf8'));
  }

  // --- one opcode --------------------------------------------------------------------------------

  private step(): void {
    const at = this.base + this.pos;
    const op = this.u8();
    const f = this.frame;
    switch (op) {
      case OP.PROTO: {
        const p = this.u8();
        if (p > HIGHEST_PROTOCOL) throw new ParseError(`pickle protocol ${p} is newer than this reader knows`);
        if (this.frames.length === 1 && !this.firstDone) this.out.protocol = p;
        return;
      }
      case OP.FRAME:
        this.u64(); // frames only group opcodes; the reader reads them in order anyway
        return;
      case OP.STOP:
        // Like CPython: the top value is the result; anything left below it is dropped.
        this.finishPickle(this.pop());
        return;
      case OP.MARK:
        f.metastack.push(f.stack);
        f.stack = [];
        return;
      case OP.POP:
        // Like CPython: with nothing above the last MARK, POP removes the MARK.
        if (f.stack.length > 0) f.stack.pop();
        else if (f.metastack.length > 0) this.popMark();
        else throw new ParseError('POP on an empty stack');
        return;
      case OP.POP_MARK:
        this.popMark();
        return;
      case OP.DUP:
        this.push1(this.top());
        return;
      case OP.NONE:
        this.push1(null);
        return;
      case OP.NEWTRUE:
        this.push1(true);
        return;
      case OP.NEWFALSE:
        this.push1(false);
        return;
      case OP.INT: {
        const s = this.line();
        if (s === '01') this.push1(true);
        else if (s === '00') this.push1(false);
        else this.push1(parseIntText(s));
        return;
      }
      case OP.LONG:
        this.push1(parseIntText(this.line().replace(/L$/, '')));
        return;
      case OP.BININT:
        this.push1(this.i32());
        return;
      case OP.BININT1:
        this.push1(this.u8());
        return;
      case OP.BININT2:
        this.push1(this.u16());
        return;
      case OP.LONG1:
        this.push1(decodeLong(this.bytes(this.u8())));
        return;
      case OP.LONG4: {
        const n = this.i32();
        if (n < 0 || n > 1 << 16) throw new ParseError('LONG4 with an unreasonable length');
        this.push1(decodeLong(this.bytes(n)));
        return;
      }
      case OP.FLOAT: {
        const s = this.line();
        const v = Number(s);
        if (Number.isNaN(v) && !/^[+-]?nan$/i.test(s.trim()))
          throw new ParseError('FLOAT with a value that is not a number');
        this.push1(v);
        return;
      }
      case OP.BINFLOAT: {
        this.need(8);
        const v = this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        this.push1(v);
        return;
      }
      case OP.STRING:
        this.push1(parseQuoted(this.line()));
        return;
      case OP.BINSTRING: {
        const n = this.i32();
        if (n < 0) throw new ParseError('BINSTRING with a negative length');
        this.payloadLatin1(n);
        return;
      }
      case OP.SHORT_BINSTRING:
        this.payloadLatin1(this.u8());
        return;
      case OP.UNICODE:
        this.push1(decodeRawUnicodeEscape(this.line()));
        return;
      case OP.BINUNICODE:
        this.payload(this.u32(), 'str');
        return;
      case OP.SHORT_BINUNICODE:
        this.payload(this.u8(), 'str');
        return;
      case OP.BINUNICODE8:
        this.payload(this.u64(), 'str');
        return;
      case OP.BINBYTES:
        this.payload(this.u32(), 'bytes');
        return;
      case OP.SHORT_BINBYTES:
        this.payload(this.u8(), 'bytes');
        return;
      case OP.BINBYTES8:
      case OP.BYTEARRAY8:
        this.payload(this.u64(), 'bytes');
        return;
      case OP.NEXT_BUFFER:
        this.push1({ t: 'opaque', what: 'out-of-band buffer' });
        return;
      case OP.READONLY_BUFFER:
        this.top();
        return;
      case OP.EMPTY_LIST:
        this.push1({ t: 'list', items: [] });
        return;
      case OP.EMPTY_TUPLE:
        this.push1({ t: 'tuple', items: [] });
        return;
      case OP.EMPTY_DICT:
        this.push1({ t: 'dict', entries: [] });
        return;
      case OP.EMPTY_SET:
        this.push1({ t: 'set', items: [] });
        return;
      case OP.LIST:
        this.push1({ t: 'list', items: this.popMark() });
        return;
      case OP.TUPLE:
        this.push1({ t: 'tuple', items: this.popMark() });
        return;
      case OP.TUPLE1: {
        const a = this.pop();
        this.push1({ t: 'tuple', items: [a] });
        return;
      }
      case OP.TUPLE2: {
        const b = this.pop();
        const a = this.pop();
        this.push1({ t: 'tuple', items: [a, b] });
        return;
      }
      case OP.TUPLE3: {
        const c = this.pop();
        const b = this.pop();
        const a = this.pop();
        this.push1({ t: 'tuple', items: [a, b, c] });
        return;
      }
      case OP.FROZENSET:
        this.push1({ t: 'frozenset', items: this.popMark() });
        return;
      case OP.DICT: {
        const items = this.popMark();
        if (items.length % 2) throw new ParseError('DICT with an odd number of items');
        const entries: [PValue, PValue][] = [];
        for (let i = 0; i < items.length; i += 2) entries.push([items[i]!, items[i + 1]!]);
        this.push1({ t: 'dict', entries });
        return;
      }
      case OP.APPEND: {
        const v = this.pop();
        this.appendTo(this.top(), [v]);
        return;
      }
      case OP.APPENDS: {
        const items = this.popMark();
        this.appendTo(this.top(), items);
        return;
      }
      case OP.SETITEM: {
        const v = this.pop();
        const k = this.pop();
        this.setItems(this.top(), [k, v]);
        return;
      }
      case OP.SETITEMS: {
        const items = this.popMark();
        if (items.length % 2) throw new ParseError('SETITEMS with an odd number of items');
        this.setItems(this.top(), items);
        return;
      }
      case OP.ADDITEMS: {
        const items = this.popMark();
        const s = this.top();
        if (typeof s !== 'object' || s === null || s.t !== 'set')
          throw new ParseError('ADDITEMS to something not a set');
        s.items.push(...items);
        return;
      }
      case OP.GET:
        this.push1(this.memoGet(parseIndex(this.line())));
        return;
      case OP.BINGET:
        this.push1(this.memoGet(this.u8()));
        return;
      case OP.LONG_BINGET:
        this.push1(this.memoGet(this.u32()));
        return;
      case OP.PUT:
        this.memoPut(parseIndex(this.line()));
        return;
      case OP.BINPUT:
        this.memoPut(this.u8());
        return;
      case OP.LONG_BINPUT:
        this.memoPut(this.u32());
        return;
      case OP.MEMOIZE:
        this.memoPut(f.memo.size);
        return;
      case OP.GLOBAL: {
        const module = this.line();
        const name = this.line();
        this.push1(this.recordImport(module, name, at, 'GLOBAL'));
        return;
      }
      case OP.STACK_GLOBAL: {
        const name = this.str(this.pop(), 'the STACK_GLOBAL name');
        const module = this.str(this.pop(), 'the STACK_GLOBAL module');
        this.push1(this.recordImport(module, name, at, 'STACK_GLOBAL'));
        return;
      }
      case OP.INST: {
        const module = this.line();
        const name = this.line();
        const args = this.popMark();
        const cls = this.recordImport(module, name, at, 'INST');
        this.recordCall(cls, at, 'INST');
        this.push1({ t: 'object', cls, args });
        return;
      }
      case OP.OBJ: {
        const items = this.popMark();
        const cls = items.shift();
        if (cls === undefined) throw new ParseError('OBJ without a class');
        this.recordCall(cls, at, 'OBJ');
        this.push1({ t: 'object', cls, args: items });
        return;
      }
      case OP.REDUCE: {
        const args = this.pop();
        const callable = this.pop();
        this.recordCall(callable, at, 'REDUCE');
        const list = typeof args === 'object' && args !== null && args.t === 'tuple' ? args.items : [args];
        this.push1(reduced(callable, list));
        return;
      }
      case OP.NEWOBJ: {
        const args = this.pop();
        const cls = this.pop();
        this.recordCall(cls, at, 'NEWOBJ');
        const list = typeof args === 'object' && args !== null && args.t === 'tuple' ? args.items : [args];
        this.push1({ t: 'object', cls, args: list });
        return;
      }
      case OP.NEWOBJ_EX: {
        const kwargs = this.pop();
        const args = this.pop();
        const cls = this.pop();
        this.recordCall(cls, at, 'NEWOBJ_EX');
        const list = typeof args === 'object' && args !== null && args.t === 'tuple' ? args.items : [args];
        this.push1({ t: 'object', cls, args: list, kwargs });
        return;
      }
      case OP.BUILD: {
        const state = this.pop();
        const target = this.top();
        this.build(target, state, at);
        return;
      }
      case OP.PERSID:
        this.push1({ t: 'opaque', what: 'persistent id', id: this.line() });
        return;
      case OP.BINPERSID:
        this.push1({ t: 'opaque', what: 'persistent id', id: this.pop() });
        return;
      case OP.EXT1:
      case OP.EXT2:
      case OP.EXT4: {
        const code = op === OP.EXT1 ? this.u8() : op === OP.EXT2 ? this.u16() : this.i32();
        // The copyreg extension registry maps a code to an import chosen by whoever loads the file.
        this.push1(this.recordImport('copyreg.extension', String(code), at, OP_NAME.get(op)!));
        return;
      }
      default:
        throw new ParseError(`byte 0x${op.toString(16).padStart(2, '0')} is not a pickle opcode`);
    }
  }

  private payloadLatin1(n: number): void {
    if (n > this.keepLimit) {
      this.push1({ t: 'bigstr', length: n });
      this.skip = n;
      return;
    }
    this.push1(this.bytes(n).toString('latin1'));
  }

  private appendTo(target: PValue, items: PValue[]): void {
    if (typeof target === 'object' && target !== null) {
      if (target.t === 'list') {
        for (const v of items) target.items.push(v);
        return;
      }
      if (target.t === 'object') {
        // list.extend / append on an instance: a method of the (already classified) class runs.
        (target.items ??= []).push(...items);
        return;
      }
    }
    throw new ParseError('APPEND to something that is neither a list nor an object');
  }

  private setItems(target: PValue, items: PValue[]): void {
    const pairs: [PValue, PValue][] = [];
    for (let i = 0; i < items.length; i += 2) pairs.push([items[i]!, items[i + 1]!]);
    if (typeof target === 'object' && target !== null) {
      if (target.t === 'dict') {
        target.entries.push(...pairs);
        return;
      }
      if (target.t === 'object') {
        (target.entries ??= []).push(...pairs);
        return;
      }
    }
    throw new ParseError('SETITEM on something that is neither a dict nor an object');
  }

  private build(target: PValue, state: PValue, at: number): void {
    if (typeof target !== 'object' || target === null || target.t !== 'object') {
      if (typeof target === 'object' && target !== null && target.t === 'global') {
        // BUILD on a class or function sets attributes on it: never in a model, always suspect.
        this.out.calls.push({
          target: `${target.module}.${target.name}.__setstate__`,
          offset: at,
          op: 'BUILD',
          indirect: true,
        });
        return;
      }
      throw new ParseError('BUILD on something that is not an object');
    }
    target.state = state;
    if (isGlobal(target.cls))
      this.out.calls.push({
        target: `${target.cls.module}.${target.cls.name}`,
        offset: at,
        op: 'BUILD',
        indirect: false,
      });
    if (isReconstruct(target)) {
      target.array = arrayFromReconstruct(state);
      return;
    }
    if (isJoblibArrayWrapper(target)) {
      const plan = planJoblibArray(target);
      target.array = { shape: plan.shape, dtype: plan.dtype.str };
      if (plan.dtype.hasObject) {
        // joblib pickles an object array as a nested pickle right here.
        this.frames.push({ ...newFrame(), arrayOf: target });
        return;
      }
      this.rawPlan = { wrapper: target, plan };
      if (plan.padded) this.mode = 'padding';
      else this.startRaw();
    }
  }

  private readPadding(): void {
    const n = this.u8();
    this.need(n);
    this.pos += n;
    this.mode = 'pickle';
    this.startRaw();
  }

  private startRaw(): void {
    const { wrapper, plan } = this.rawPlan!;
    this.rawPlan = undefined;
    this.skip = plan.nbytes;
    if (plan.nbytes > 0 && plan.nbytes <= 64 << 10) {
      this.capture = {
        into: Buffer.allocUnsafe(plan.nbytes),
        at: 0,
        done: (b) => {
          const values = decodeRaw(b, plan.dtype, plan.nbytes / plan.dtype.itemsize);
          if (values && wrapper.array) wrapper.array.values = values;
        },
      };
    }
  }

  private finishPickle(root: PValue): void {
    if (this.frames.length > 1) {
      const done = this.frames.pop()!;
      const arr = typeof root === 'object' && root !== null && root.t === 'object' ? root.array : undefined;
      if (done.arrayOf && arr) done.arrayOf.array = arr;
      return;
    }
    if (!this.firstDone) {
      this.firstDone = true;
      this.out.complete = true;
      this.out.root = root;
      this.trailingStart = this.base + this.pos;
    }
    this.frames = [newFrame()];
  }
}

/**
 * The object a REDUCE describes. Two calls are read for what they build: copyreg._reconstructor(cls,
 * base, state) (how protocols 0 and 1 write instances) is an instance of cls, and NumPy's
 * _frombuffer(bytes, dtype, shape, order) (protocol 5) is an array.
 */
function reduced(callable: PValue, args: PValue[]): PObject {
  if (
    isGlobal(callable) &&
    (callable.module === 'copyreg' || callable.module === 'copy_reg') &&
    callable.name === '_reconstructor'
  ) {
    const cls = args[0];
    if (cls !== undefined && isGlobal(cls)) return { t: 'object', cls, args: [] };
  }
  const obj: PObject = { t: 'object', cls: callable, args };
  if (isFrombuffer(obj)) {
    try {
      obj.array = arrayFromBuffer(args);
    } catch {
      /* not as NumPy writes it: no array values, the imports still count */
    }
  }
  return obj;
}

function newFrame(): Frame {
  return { stack: [], metastack: [], memo: new Map() };
}

function isGlobal(v: PValue): v is { t: 'global'; module: string; name: string } {
  return typeof v === 'object' && v !== null && v.t === 'global';
}

function parseIntText(s: string): number | bigint {
  const t = s.trim();
  if (!/^[+-]?\d+$/.test(t)) throw new ParseError('INT or LONG with text that is not an integer');
  const b = BigInt(t);
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

function parseIndex(s: string): number {
  if (!/^\d{1,9}$/.test(s.trim())) throw new ParseError('a memo index that is not a number');
  return Number(s.trim());
}

/** Two's-complement little-endian integer (LONG1/LONG4). */
function decodeLong(b: Buffer): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** STRING's argument: a Python repr in single or double quotes, with backslash escapes. */
function parseQuoted(s: string): string {
  const q = s[0];
  if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q)
    throw new ParseError('STRING argument is not quoted');
  const body = s.slice(1, -1);
  return body.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_m, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(Number.parseInt(e, 8));
    return (
      (
        { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v' } as Record<
          string,
          string
        >
      )[e] ?? `\\${e}`
    );
  });
}

/** UNICODE's argument: raw-unicode-escape (\uXXXX and \UXXXXXXXX, the rest Latin-1). */
function decodeRawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a: string | undefined, b: string | undefined) =>
    String.fromCodePoint(Number.parseInt((a ?? b)!, 16)),
  );
}
