import { existsSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fromSystemError } from '../errors.js';
import { fsyncDir } from '../lib/fs.js';
import type { Runtime } from '../registry/registry.js';

/**
 * restore --force swaps registries with two renames (DIR to .mlreg-replaced-PID-NAME-TIME, then the
 * new one to DIR). A process killed between them leaves DIR without a registry: whoever next opens
 * DIR or restores into it puts the old one back (like SQLite replaying a hot journal), and copies
 * aside whose swap completed are removed.
 */

export const ASIDE_PREFIX = '.mlreg-replaced-';

export function removeTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    /* left for the next restore's cleanLeftovers */
  }
}

const ASIDE = new RegExp(`^\\${ASIDE_PREFIX}(\\d+)-(.+)-(\\d+)$`);

/** The registries a restore --force moved aside from `into` and whose process is gone, newest first. */
function asideOf(into: string, runtime: Runtime): string[] {
  const parent = dirname(into);
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, m: ASIDE.exec(name) }))
    .filter(
      (x): x is { name: string; m: RegExpExecArray } =>
        !!x.m && x.m[2] === basename(into) && Number(x.m[1]) !== runtime.pid && !runtime.isProcessAlive(Number(x.m[1])),
    )
    .sort((a, b) => Number(b.m[3]) - Number(a.m[3]))
    .map((x) => join(parent, x.name));
}

function holdsRegistry(dir: string): boolean {
  return existsSync(join(dir, 'mlreg.db'));
}

/** True when `into` lost its registry to a killed restore --force that left the old one aside. */
export function recoveryPending(into: string, runtime: Runtime): boolean {
  return !holdsRegistry(into) && asideOf(into, runtime).length > 0;
}

/**
 * Finish what a restore --force killed mid-swap left: when DIR holds no registry, the old one
 * (moved aside as .mlreg-replaced-PID-NAME-TIME) is renamed back; when DIR holds one (the swap
 * completed), the copies aside are removed. Returns the path put back, if any.
 */
export function recoverInterruptedRestore(into: string, runtime: Runtime): string | undefined {
  const aside = asideOf(into, runtime);
  if (aside.length === 0) return undefined;
  let putBack: string | undefined;
  if (!holdsRegistry(into)) {
    const [newest] = aside.splice(0, 1);
    try {
      if (existsSync(into)) rmdirSync(into); // the empty folder a crash may leave; never a non-empty one
      renameSync(newest!, into);
      fsyncDir(dirname(into));
      putBack = newest;
    } catch (err) {
      throw fromSystemError(err, `putting back the registry a killed restore left at ${newest}`);
    }
  }
  for (const old of aside) removeTree(old);
  return putBack;
}
