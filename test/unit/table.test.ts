import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayWidth, renderTable } from '../../src/cli/table.js';

test('columns align by display width, ignoring colour codes and counting wide characters twice', () => {
  const out = renderTable(['NAME', 'STAGE', 'NOTE'], [
    ['fraud', '\x1b[36mproduction\x1b[39m', 'ok'],
    ['模型', 'canary', 'wide name'],
    ['x', '', ''],
  ]);
  const lines = out.split('\n').map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''));
  assert.deepEqual(lines, ['NAME   STAGE       NOTE', 'fraud  production  ok', '模型   canary      wide name', 'x']);
  assert.equal(displayWidth('\x1b[1mabc\x1b[22m'), 3);
  assert.equal(displayWidth('é模'), 3);
});
