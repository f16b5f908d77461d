/**
 * Where things live on a remote, relative to its prefix (documented in registry/FORMAT.md):
 *
 *   mlreg-remote.json                 the format marker, made once by `init --remote` / `remote attach`
 *   objects/sha256/<2>/<62>           content-addressed objects, the same names as in a registry folder
 *   log/<20-digit N>.json             log entry N (1, 2, …), each created once with put-if-absent
 *   checkpoints/<20-digit N>.json.gz  the whole shared state after entry N (0: the state `remote attach` uploaded)
 *
 * Numbers are zero-padded so the lexical order of a listing is the numeric order.
 */

export const MARKER_KEY = 'mlreg-remote.json';
export const LOG_PREFIX = 'log/';
export const CHECKPOINT_PREFIX = 'checkpoints/';
const PAD = 20;

export function objectKey(digest: string): string {
  return `objects/sha256/${digest.slice(0, 2)}/${digest.slice(2)}`;
}

export function logKey(n: number): string {
  return `${LOG_PREFIX}${String(n).padStart(PAD, '0')}.json`;
}

export function checkpointKey(n: number): string {
  return `${CHECKPOINT_PREFIX}${String(n).padStart(PAD, '0')}.json.gz`;
}

const LOG_KEY_RE = new RegExp(`^${LOG_PREFIX}(\\d{${PAD}})\\.json$`);
const CHECKPOINT_KEY_RE = new RegExp(`^${CHECKPOINT_PREFIX}(\\d{${PAD}})\\.json\\.gz$`);

/** The entry number of a log key, or undefined for any other key (ignored). */
export function logNumber(key: string): number | undefined {
  const m = LOG_KEY_RE.exec(key);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

export function checkpointNumber(key: string): number | undefined {
  const m = CHECKPOINT_KEY_RE.exec(key);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** How often a writer leaves a checkpoint: after every entry whose number is a multiple of this. */
export const CHECKPOINT_EVERY = 200;
