import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CsvParser, csvField, openCsv } from '../../../src/core/monitor/csv.js';
import { tempDir } from '../../helpers.js';

let lastLines: number[] = [];

function parseAll(text: string, chunk: number): string[][] {
  const p = new CsvParser('t.csv');
  const rows: string[][] = [];
  const lines: number[] = [];
  const onRow = (row: string[], line: number) => {
    rows.push(row);
    lines.push(line);
  };
  for (let i = 0; i < text.length; i += chunk) p.push(text.slice(i, i + chunk), false, onRow);
  p.push('', true, onRow);
  lastLines = lines;
  return rows;
}

test('RFC 4180: quotes, escaped quotes, commas and line breaks in fields, CRLF, BOM, no final newline — in any chunking', () => {
  const text = '\uFEFFid,text,n\r\n1,"a, b",2\r\n2,"say ""hi""",3\n3,"two\nlines",4\n\n4,,5';
  const want = [
    ['id', 'text', 'n'],
    ['1', 'a, b', '2'],
    ['2', 'say "hi"', '3'],
    ['3', 'two\nlines', '4'],
    ['4', '', '5'],
  ];
  for (const chunk of [1, 2, 3, 5, 7, 1000]) {
    assert.deepEqual(parseAll(text, chunk), want, `chunk ${chunk}`);
    assert.deepEqual(lastLines, [1, 2, 3, 4, 7], 'each row knows the line it starts on');
  }
});

test('an unterminated quote and text after a closing quote are errors with the line', () => {
  assert.throws(() => parseAll('a,b\n1,"open\n', 4), /t\.csv, line 2: unterminated quoted field/);
  assert.throws(() => parseAll('a,b\n1,"x"y\n', 100), /t\.csv, line 2: unexpected "y" after a closing quote/);
});

test('csvField quotes only what needs it and round-trips through the parser', () => {
  const values = ['plain', 'a,b', 'say "hi"', 'two\nlines', ' padded ', ''];
  const line = values.map(csvField).join(',') + '\n';
  assert.equal(csvField('plain'), 'plain');
  assert.deepEqual(parseAll(line, 3), [values]);
});

test('openCsv: header, every row once, a row with the wrong width names its line', async () => {
  const t = tempDir();
  try {
    const f = join(t.path, 'x.csv');
    writeFileSync(f, 'id,p\n' + Array.from({ length: 50_000 }, (_, i) => `${i},0.${i % 10}`).join('\n') + '\n');
    const table = await openCsv(f, 'predictions file');
    assert.deepEqual(table.header, ['id', 'p']);
    assert.equal(table.column('p', '--prediction-column'), 1);
    assert.throws(() => table.column('prob', 'predictionColumn'), /has no column "prob"/);
    let n = 0;
    const count = await table.forEach(() => n++);
    assert.deepEqual([n, count], [50_000, 50_000]);
    writeFileSync(f, 'id,p\n1,0.5\n2\n');
    const bad = await openCsv(f, 'predictions file');
    await assert.rejects(
      bad.forEach(() => undefined),
      /line 3: 1 fields where the header has 2/,
    );
  } finally {
    t.cleanup();
  }
});

test('an unterminated quote in a large file fails fast instead of buffering the file', async () => {
  const t = tempDir();
  try {
    const f = join(t.path, 'x.csv');
    writeFileSync(f, 'id,p\n1,"never closed\n' + '2,0.5\n'.repeat(1_200_000));
    const table = await openCsv(f, 'predictions file');
    await assert.rejects(
      table.forEach(() => undefined),
      /line 2: a row runs on for more than 4 MiB: unterminated quote\?/,
    );
  } finally {
    t.cleanup();
  }
});
