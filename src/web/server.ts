import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { spelledAsFlags } from '../cli/flags.js';
import type { Registry } from '../core/registry/registry.js';
import { answerApi } from './api.js';
import type { Asset } from './assets.js';

/**
 * `mlreg ui`: a read-only web app over one registry, on Node's http module. Safe by default: GET
 * and HEAD only, a Host header that must name the address we listen on (DNS rebinding), a
 * Content-Security-Policy without inline script, static files from an in-memory map only.
 */

export interface UiServerOptions {
  reg: Registry;
  assets: Map<string, Asset>;
  host: string;
  port: number;
}

export interface UiServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Paths that are pages of the app: each gets the same shell, which fetches its data from /api/. */
const PAGES: RegExp[] = [
  /^\/$/,
  /^\/artifacts\/[^/]+$/,
  /^\/artifacts\/[^/]+\/versions\/[^/]+$/,
  /^\/artifacts\/[^/]+\/history$/,
  /^\/artifacts\/[^/]+\/monitor$/,
  /^\/compare$/,
  /^\/check$/,
];

const SHELL = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mlreg</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body>
<header class="top"><a class="brand" href="/">mlreg</a><span class="where" id="where"></span></header>
<main id="app"><p class="loading">Loading…</p></main>
</body>
</html>
`;

export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  let accepts: (host: string | undefined) => boolean = () => false;
  const server = createServer((req, res) => {
    handle(opts, accepts, req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, req, 500, 'application/json', errorBody('E_INTERNAL', String(err)));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  accepts = hostChecker(opts.host, port);
  const shown = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    server,
    url: `http://${shown === '0.0.0.0' || shown === '[::]' ? '127.0.0.1' : shown}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  opts: UiServerOptions,
  accepts: (host: string | undefined) => boolean,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (!accepts(req.headers.host)) {
    send(res, req, 403, 'application/json', errorBody('E_BAD_HOST', 'the Host header does not name this server'));
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, req, 405, 'application/json', errorBody('E_READ_ONLY', 'mlreg ui is read-only: GET and HEAD only'));
    return;
  }
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://ui.invalid');
  } catch {
    send(res, req, 400, 'application/json', errorBody('E_BAD_PATH', 'the request path is not a valid URL'));
    return;
  }
  const path = url.pathname;
  if (path.startsWith('/api/')) {
    const answer = await answerApi(opts.reg, path.slice(4), url.searchParams);
    send(res, req, answer.status, 'application/json; charset=utf-8', JSON.stringify(answer.body));
    return;
  }
  if (path.startsWith('/assets/')) {
    const asset = opts.assets.get(path.slice('/assets/'.length));
    if (asset) {
      send(res, req, 200, asset.type, asset.body, 'no-cache');
      return;
    }
  } else if (PAGES.some((re) => re.test(path))) {
    send(res, req, 200, 'text/html; charset=utf-8', SHELL);
    return;
  }
  send(res, req, 404, 'text/plain; charset=utf-8', 'Not found\n');
}

function send(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  type: string,
  body: string | Buffer,
  cache = 'no-store',
): void {
  // Every text answer leaves here: core's option marks (lib/option-ref.ts) are spelled as the CLI
  // spells them, since the hints a page shows tell what to run (`mlreg history NAME --stage S`).
  const bytes = typeof body === 'string' ? Buffer.from(spelledAsFlags(body)) : body;
  res.statusCode = status;
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', bytes.length);
  res.setHeader('Cache-Control', cache);
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ ok: false, error: { code, message, hint: '' } });
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Which Host headers name this server. A page on another site that rebinds its DNS name to
 * 127.0.0.1 still sends its own name as Host, so only our own names pass: on loopback, localhost
 * and the loopback addresses; on another address, that address, any IP literal when bound to all
 * addresses, and this machine's host name. The port must be ours too.
 */
export function hostChecker(bound: string, port: number): (host: string | undefined) => boolean {
  const boundName = (bound.includes(':') ? `[${bound}]` : bound).toLowerCase();
  const loopback = bound === 'localhost' || bound === '::1' || bound.startsWith('127.');
  const wildcard = bound === '0.0.0.0' || bound === '::';
  const machine = hostname().toLowerCase();
  return (header) => {
    if (!header) return false;
    const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d+))?$/i.exec(header.trim());
    if (!m) return false;
    const name = m[1]!.toLowerCase();
    if (Number(m[2] ?? 80) !== port) return false;
    if (name === boundName || LOOPBACK_NAMES.has(name)) return loopback || wildcard || name === boundName;
    if (loopback) return false;
    if (wildcard && isIP(name.replace(/^\[|\]$/g, '')) !== 0) return true;
    return name === machine || name.startsWith(`${machine}.`);
  };
}
