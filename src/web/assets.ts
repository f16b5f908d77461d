import { readFileSync } from 'node:fs';
import { NotFoundError } from '../core/errors.js';

/**
 * The front end, bundled at build time by scripts/build-web.mjs into dist/web/ and shipped in the
 * package. The server reads a fixed list of files into memory once: a request can only ever name
 * one of these keys, never a path on disk.
 */

export interface Asset {
  body: Buffer;
  type: string;
}

const FILES: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'report.js': 'text/javascript; charset=utf-8',
  'report.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** Compiled to dist/src/web/assets.js; the bundles are in dist/web/. */
export const ASSET_DIR = new URL('../../web/', import.meta.url);

export function loadAssets(dir: URL = ASSET_DIR): Map<string, Asset> {
  const map = new Map<string, Asset>();
  for (const [name, type] of Object.entries(FILES)) {
    try {
      map.set(name, { body: readFileSync(new URL(name, dir)), type });
    } catch {
      throw new NotFoundError(`the web app's file ${name} is missing from ${dir.pathname}`, {
        code: 'E_UI_ASSETS_MISSING',
        hint: 'This mlreg was installed without its built front end; run `npm run build` in its folder.',
      });
    }
  }
  return map;
}

export function assetText(assets: Map<string, Asset>, name: string): string {
  const a = assets.get(name);
  if (!a) throw new Error(`asset ${name} not loaded`);
  return a.body.toString('utf8');
}
