import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PickleReader } from '../../../src/core/models/pickle/reader.js';
import { Allowlist, scanFiles } from '../../../src/core/models/scan.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const su = (s: string): string => `\x8c${String.fromCharCode(s.length)}${s}`;

function read(bytes: Buffer) {
  const r = new PickleReader();
  r.push(bytes);
  return r.end();
}

async function scanBytes(name: string, bytes: Buffer) {
  const dir = mkdtempSync(join(tmpdir(), 'mlreg-reader-'));
  try {
    writeFileSync(join(dir, name), bytes);
    return (await scanFiles([{ path: name, abs: join(dir, name) }], new Allowlist())).report;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('every way of naming an import is seen: GLOBAL, INST, STACK_GLOBAL through the memo, EXT', () => {
  const inst = read(b("(S'ls'\nios\nsystem\n."));
  assert.deepEqual(
    inst.imports.map((i) => [i.module, i.name, i.op]),
    [['os', 'system', 'INST']],
  );
  assert.deepEqual(
    inst.calls.map((c) => c.target),
    ['os.system'],
  );
  // Module and name put in the memo, popped, fetched back with LONG_BINGET.
  const memo = read(
    b(
      `\x80\x04${su('subprocess')}r\x07\x00\x00\x00${su('Popen')}r\x09\x00\x00\x000j\x07\x00\x00\x00j\x09\x00\x00\x00\x93)R.`,
    ),
  );
  assert.deepEqual(
    memo.imports.map((i) => `${i.module}.${i.name}`),
    ['subprocess.Popen'],
  );
  assert.equal(memo.complete, true);
  const ext = read(b('\x80\x02\x82\x01).'));
  assert.deepEqual(
    ext.imports.map((i) => `${i.module}.${i.name}`),
    ['copyreg.extension.1'],
  );
  // OBJ and NEWOBJ_EX record their calls.
  const obj = read(b('\x80\x02(cmypkg\nThing\nK\x01o.'));
  assert.ok(obj.calls.some((c) => c.op === 'OBJ' && c.target === 'mypkg.Thing'));
  const ex = read(b('\x80\x04cmypkg\nThing\n)}\x92.'));
  assert.ok(ex.calls.some((c) => c.op === 'NEWOBJ_EX' && c.target === 'mypkg.Thing'));
});

test('a STACK_GLOBAL operand that is not a string, an unknown opcode and a memo miss make the pickle unreadable', () => {
  assert.match(read(b('\x80\x04K\x01K\x02\x93.')).error!.message, /not a string/);
  assert.match(read(b('\x80\x04\xff.')).error!.message, /not a pickle opcode/);
  assert.match(read(b('\x80\x04h\x05.')).error!.message, /memo key 5/);
  assert.match(read(b('\x80\x06N.')).error!.message, /protocol 6/);
});

test('calling the result of a call, BUILD on a class and dotted names are dangerous', async () => {
  const chain = await scanBytes('m.pkl', b(`\x80\x04${su('builtins')}${su('set')}\x93)R)R.`));
  assert.ok(chain.findings.some((f) => f.import === 'the result of a call' && f.verdict === 'dangerous'));
  const buildOnClass = await scanBytes('m.pkl', b('\x80\x02c__builtin__\nset\n}b.'));
  assert.ok(buildOnClass.findings.some((f) => f.import === '__builtin__.set.__setstate__'));
  const dotted = await scanBytes(
    'm.pkl',
    b(`\x80\x04${su('sklearn.base')}${su('BaseEstimator.__init__.__globals__')}\x93.`),
  );
  assert.equal(dotted.findings[0]?.verdict, 'dangerous');
});

test('after a complete pickle, trailing data is ignored but a trailing pickle is scanned too', async () => {
  const trailingJunk = await scanBytes('m.pkl', b('\x80\x04N.this is not a pickle'));
  assert.equal(trailingJunk.verdict, 'safe');
  const trailingPayload = await scanBytes('m.pkl', b("\x80\x04N.cos\nsystem\n(S'id'\ntR."));
  assert.equal(trailingPayload.verdict, 'unsafe');
  assert.equal(trailingPayload.findings[0]?.import, 'os.system');
});

test('values left under the result at STOP are allowed, as CPython allows them; POP after MARK pops the mark', () => {
  assert.equal(read(b('\x80\x02K\x01K\x02.')).complete, true);
  assert.equal(read(b('\x80\x02(0N.')).complete, true);
});

test('large payloads are skipped, not kept', () => {
  const big = Buffer.alloc(5 << 20, 0x41);
  const head = Buffer.alloc(9);
  head[0] = 0x8e; // BINBYTES8
  head.writeBigUInt64LE(BigInt(big.length), 1);
  const r = new PickleReader({ keepLimit: 1 << 20 });
  r.push(b('\x80\x04'));
  r.push(head);
  for (let i = 0; i < big.length; i += 65536) r.push(big.subarray(i, i + 65536));
  r.push(b('\x85.'));
  const out = r.end();
  assert.equal(out.complete, true);
  const root = out.root as { t: string; items: { t: string; length: number; data?: Buffer }[] };
  assert.equal(root.items[0]!.length, big.length);
  assert.equal(root.items[0]!.data, undefined);
});
