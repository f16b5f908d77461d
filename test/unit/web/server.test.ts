import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addVersion } from '../../../src/core/versions/add.js';
import { listArtifacts, listVersions } from '../../../src/core/versions/queries.js';
import { history } from '../../../src/core/registry/history.js';
import { Registry } from '../../../src/core/registry/registry.js';
import { loadAssets } from '../../../src/web/assets.js';
import { hostChecker, startUiServer, type UiServer } from '../../../src/web/server.js';
import { FIXTURES, tempDir, testRuntime } from '../../helpers.js';
import { buildWebFixture } from '../../web-fixture.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request: the path is sent exactly as given (no URL normalisation), the Host header as given. */
function raw(ui: UiServer, method: string, path: string, host?: string): Promise<Reply> {
  const { port } = new URL(ui.url);
  return new Promise((resolve, reject) => {
    const req = request(
      // host '' sends no Host header at all.
      host === ''
        ? { host: '127.0.0.1', port, method, path, setHost: false }
        : { host: '127.0.0.1', port, method, path, headers: { host: host ?? `127.0.0.1:${port}` } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('mlreg ui server', () => {
  const t = tempDir('mlreg-ui-server-');
  const root = join(t.path, 'reg');
  let reg: Registry;
  let ui: UiServer;
  let port: number;

  before(async () => {
    await buildWebFixture(root, t.path);
    reg = Registry.open(root, testRuntime);
    ui = await startUiServer({ reg, assets: loadAssets(), host: '127.0.0.1', port: 0 });
    port = Number(new URL(ui.url).port);
  });
  after(async () => {
    await ui.close();
    reg.close();
    t.cleanup();
  });

  test('pages, assets and the API answer GET with the security headers', async () => {
    for (const path of ['/', '/artifacts/cancer', '/assets/app.js', '/api/artifacts', '/nope']) {
      const r = await raw(ui, 'GET', path);
      const csp = String(r.headers['content-security-policy']);
      assert.match(csp, /script-src 'self'/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.doesNotMatch(csp, /unsafe-inline/, path);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', path);
    }
    const page = await raw(ui, 'GET', '/artifacts/cancer/versions/1.0.0');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.doesNotMatch(page.body, /<script>/, 'no inline script in the shell');
    const js = await raw(ui, 'GET', '/assets/app.js');
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    const head = await raw(ui, 'HEAD', '/api/artifacts');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  test('anything but GET and HEAD is refused with 405', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      for (const path of ['/', '/api/artifacts', '/api/artifacts/cancer']) {
        const r = await raw(ui, method, path);
        assert.equal(r.status, 405, `${method} ${path}`);
        assert.equal(r.headers.allow, 'GET, HEAD');
      }
    }
  });

  test('a Host header naming another site is refused with 403 (DNS rebinding)', async () => {
    for (const host of [
      `evil.example:${port}`,
      `127.0.0.1:${port + 1}`,
      'localhost',
      `127.0.0.1.evil.example:${port}`,
    ]) {
      const r = await raw(ui, 'GET', '/api/artifacts', host);
      assert.equal(r.status, 403, `Host: ${host}`);
      assert.doesNotMatch(r.body, /cancer/);
    }
    // No Host at all: Node itself refuses an HTTP/1.1 request without one (400).
    const none = await raw(ui, 'GET', '/api/artifacts', '');
    assert.ok(none.status === 400 || none.status === 403, String(none.status));
    assert.doesNotMatch(none.body, /cancer/);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `LOCALHOST:${port}`])
      assert.equal((await raw(ui, 'GET', '/api/artifacts', host)).status, 200, `Host: ${host}`);
  });

  test('unknown paths and traversal attempts are 404, never a file of the registry', async () => {
    for (const path of [
      '/nope',
      '/assets/',
      '/assets/nope.js',
      '/assets/../mlreg.db',
      '/assets/%2e%2e/mlreg.db',
      '/assets/..%2fmlreg.db',
      '/assets/..%2f..%2fmlreg.db',
      '/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/mlreg.db',
      '/objects/sha256',
      '//etc/passwd',
      '/artifacts/cancer/versions/1.0.0/extra',
      '/api/',
      '/api/../mlreg.db',
      '/api/artifacts/cancer/files',
    ]) {
      const r = await raw(ui, 'GET', path);
      assert.equal(r.status, 404, path);
      assert.doesNotMatch(r.body, /SQLite format|root:/, path);
    }
    const bad = await raw(ui, 'GET', '/api/artifacts/..%2f..%2fmlreg.db');
    assert.equal(bad.status, 404);
    assert.equal(JSON.parse(bad.body).ok, false);
  });

  test('the API answers with the data of the core functions behind --json', async () => {
    const list = JSON.parse((await raw(ui, 'GET', '/api/artifacts')).body);
    assert.deepEqual(list, { ok: true, data: { artifacts: listArtifacts(reg) } });
    const page = JSON.parse((await raw(ui, 'GET', '/api/artifacts/cancer?offset=1&limit=1')).body).data;
    const versions = listVersions(reg, 'cancer').versions;
    assert.equal(page.total, versions.length);
    assert.deepEqual(page.versions, versions.slice(1, 2));
    assert.deepEqual(page.chart.versions, versions.map((v) => v.version).reverse());
    assert.deepEqual(page.timeline, history(reg, 'cancer').events.reverse());
    const events = JSON.parse((await raw(ui, 'GET', '/api/artifacts/cancer/history')).body).data;
    assert.deepEqual(events, history(reg, 'cancer', { all: true }));
    const missing = await raw(ui, 'GET', '/api/artifacts/nope');
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body).error.code, 'E_ARTIFACT_NOT_FOUND');
    const noB = await raw(ui, 'GET', '/api/compare?a=cancer@1.0.0');
    assert.equal(noB.status, 400);
    const kinds = await raw(ui, 'GET', '/api/compare?a=cancer@1.0.0&b=train@1.0.0');
    assert.equal(kinds.status, 400);
  });

  test('a version added by another process shows on the next request', async () => {
    const before = JSON.parse((await raw(ui, 'GET', '/api/artifacts/cancer')).body).data;
    const other = Registry.open(root, testRuntime);
    try {
      await addVersion(other, {
        kind: 'model',
        name: 'cancer',
        path: join(FIXTURES, 'models', 'cancer-v2.joblib'),
        version: '2.0.0',
        actor: 'tester',
      });
    } finally {
      other.close();
    }
    const after = JSON.parse((await raw(ui, 'GET', '/api/artifacts/cancer')).body).data;
    assert.equal(after.total, before.total + 1);
    assert.equal(after.versions[0].version, '2.0.0');
  });

  test('check takes registered dataset versions only, never a path on the host', async () => {
    const r = await raw(ui, 'GET', `/api/check?current=${encodeURIComponent('/etc/passwd')}&against=train@1.0.0`);
    assert.notEqual(r.status, 200);
    assert.equal(JSON.parse(r.body).ok, false);
    const ok = JSON.parse((await raw(ui, 'GET', '/api/check?current=train@1.1.0&against=train@1.0.0')).body);
    assert.equal(ok.data.report.status, 'FAIL');
    assert.equal(ok.data.reference.columns.length, 32);
  });

  test('host checks for other bindings', () => {
    const any = hostChecker('0.0.0.0', 8080);
    assert.ok(any('10.1.2.3:8080'));
    assert.ok(any('localhost:8080'));
    assert.ok(any('[::1]:8080'));
    assert.ok(!any('evil.example:8080'));
    assert.ok(!any('10.1.2.3:8081'));
    const one = hostChecker('10.1.2.3', 8080);
    assert.ok(one('10.1.2.3:8080'));
    assert.ok(!one('localhost:8080'));
    assert.ok(!one('10.9.9.9:8080'));
    const v6 = hostChecker('::1', 8080);
    assert.ok(v6('[::1]:8080'));
    assert.ok(v6('localhost:8080'));
    assert.ok(!v6('evil:8080'));
  });
});
