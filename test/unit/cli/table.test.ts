import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  displayWidth,
  isPlainNarrow,
  loadExactWidths,
  renderTable,
  takeMissedExactWidth,
} from '../../../src/cli/terminal/table.js';

test('columns align by display width, ignoring colour codes and counting wide characters twice', async () => {
  assert.equal(displayWidth('模'), 1, 'before string-width is loaded, a wide cell is approximated');
  assert.equal(takeMissedExactWidth(), true, 'and the miss is noted so the caller can load it and render again');
  await loadExactWidths();
  const out = renderTable(
    ['NAME', 'STAGE', 'NOTE'],
    [
      ['fraud', '\x1b[36mproduction\x1b[39m', 'ok'],
      ['模型', 'canary', 'wide name'],
      ['x', '', ''],
    ],
  );
  const lines = out.split('\n').map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''));
  assert.deepEqual(lines, ['NAME   STAGE       NOTE', 'fraud  production  ok', '模型   canary      wide name', 'x']);
  assert.equal(displayWidth('\x1b[1mabc\x1b[22m'), 3);
  assert.equal(displayWidth('é模'), 3);
});

test('every character the fast path counts as one column is one column for string-width too', async () => {
  const stringWidth = (await import('string-width')).default;
  let checked = 0;
  for (let cp = 0x20; cp <= 0x2fff; cp++) {
    const ch = String.fromCodePoint(cp);
    if (!isPlainNarrow(ch)) continue;
    checked++;
    assert.equal(stringWidth(ch), 1, `U+${cp.toString(16).toUpperCase().padStart(4, '0')} ${ch}`);
  }
  assert.ok(checked > 1000, 'the fast path covers ASCII, Latin, Greek, arrows and operators');
  assert.equal(isPlainNarrow('≤ → Δ ± ·'), true);
  assert.equal(isPlainNarrow('↔'), false, 'can be an emoji: measured by string-width');
});

test('a table wider than the terminal cuts its widest free-text column first, with an ellipsis', () => {
  const reason = 'INC-1234: false positives doubled after the new thresholds went live';
  const out = renderTable(
    ['VERSION', 'STAGE', 'REASON'],
    [
      ['1.2.0', 'production', reason],
      ['1.1.0', 'staging', 'ok'],
    ],
    { maxWidth: 40 },
  );
  const lines = out.split('\n');
  for (const l of lines) assert.ok(displayWidth(l) <= 40, `${displayWidth(l)}: ${l}`);
  assert.match(lines[1]!, /^1\.2\.0 {4}production {2}INC-1234: false.*…$/, 'version and stage stay whole');
  assert.equal(lines[2], '1.1.0    staging     ok');
  // Piped (no width): the full text.
  assert.ok(renderTable(['R'], [[reason]]).includes(reason));
});

test('a newline or tab inside a cell is escaped, so a row stays one line', () => {
  const out = renderTable(['A', 'B'], [['x', 'line one\nline two\tend']]);
  assert.deepEqual(out.split('\n'), ['A  B', 'x  line one\\nline two\\tend']);
});
