import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { addVersion } from '../../../src/core/versions/add.js';
import { startUiServer } from '../../../src/web/server.js';
import { tempRegistry } from '../../helpers.js';

test("the web server spells core's option marks as flags: a hint reaches the browser as `--to`", async () => {
  const t = tempRegistry();
  const ui = await startUiServer({ reg: t.reg, assets: new Map(), host: '127.0.0.1', port: 0 });
  try {
    const f = join(t.dir, 'weights.bin');
    writeFileSync(f, 'weights');
    await addVersion(t.reg, { kind: 'model', name: 'm', path: f, version: '1.0.0', actor: 'a' });
    // No stage of m is set: core's hint says how to set one, naming promote's --to option.
    const res = await fetch(new URL('/api/artifacts/m/versions/production', ui.url));
    const body = await res.text();
    assert.equal(res.status, 404);
    assert.doesNotMatch(body, /[\u{E000}\u{E001}]/u);
    assert.match(
      JSON.parse(body).error.hint,
      /^No stage of m is set yet; set one with `mlreg promote m@VERSION --to production`\.$/,
    );
  } finally {
    await ui.close();
    t.cleanup();
  }
});
