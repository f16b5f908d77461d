import type { Registry } from '../registry/registry.js';
import { parseManifest, walkSource } from '../store/manifest.js';
import { fetchIfMissing, objectPath, readObject } from '../store/objects.js';
import { applyOperations } from '../remote/apply.js';
import { resolveRef, toRecord, type VersionRecord, type VersionRow } from '../versions/refs.js';
import type { Allowlist } from './allowlist.js';
import { latestScan } from './record.js';
import { type ScanReport, scanFiles } from './scan.js';

/**
 * `mlreg scan PATH|REF` and `mlreg scan --all`: the same scan `add` runs, on a file or folder on disk,
 * on a registered version (read from the store, i.e. the bytes that would be served), or on every
 * model version, recording the new scan and reporting where the verdict or the imports changed.
 */

export interface ScanTarget {
  target: string;
  version?: { name: string; version: string };
  report: ScanReport;
}

export async function scanPath(path: string, allow: Allowlist): Promise<ScanTarget> {
  const { files } = await walkSource(path);
  const { report } = await scanFiles(
    files.map((f) => ({ path: f.path, abs: f.abs })),
    allow,
  );
  return { target: path, report };
}

async function scanStored(reg: Registry, v: VersionRecord, allow: Allowlist): Promise<ScanReport> {
  const manifest = parseManifest(await readObject(reg, v.digest), v.digest);
  for (const f of manifest.files) await fetchIfMissing(reg, f.sha256);
  const { report } = await scanFiles(
    manifest.files.map((f) => ({
      path: f.path,
      abs: objectPath(reg, f.sha256),
      stored: { size: f.size, sha256: f.sha256 },
    })),
    allow,
  );
  return report;
}

export async function scanRef(reg: Registry, ref: string, allow: Allowlist): Promise<ScanTarget> {
  const v = reg.read(() => resolveRef(reg, ref, 'model'));
  return {
    target: `${v.name}@${v.version}`,
    version: { name: v.name, version: v.version },
    report: await scanStored(reg, v, allow),
  };
}

export interface RescanChange {
  name: string;
  version: string;
  before: { verdict: string; scanner: string } | null;
  after: { verdict: string; scanner: string };
  importsAdded: string[];
  importsRemoved: string[];
}

export interface RescanResult {
  scanned: number;
  unsafe: { name: string; version: string }[];
  changes: RescanChange[];
}

function importSet(files: ScanReport['files']): Set<string> {
  return new Set(files.flatMap((f) => f.imports.map((i) => `${i.import} (${i.verdict})`)));
}

/** Re-scan every model version with the current scanner and allowlist; record each scan. */
export async function rescanAll(reg: Registry, allow: Allowlist, actor: string): Promise<RescanResult> {
  const versions = reg.read(() =>
    (
      reg.db
        .prepare(
          `SELECT v.*, a.name, a.kind FROM versions v JOIN artifacts a ON a.id = v.artifact_id WHERE a.kind = 'model' ORDER BY a.name, v.id`,
        )
        .all() as VersionRow[]
    ).map(toRecord),
  );
  const out: RescanResult = { scanned: 0, unsafe: [], changes: [] };
  for (const v of versions) {
    const report = await scanStored(reg, v, allow);
    out.scanned++;
    const before = reg.read(() => latestScan(reg, v.id));
    reg.write(() =>
      applyOperations(
        reg,
        [
          {
            op: 'scan.record',
            at: reg.nowIso(),
            name: v.name,
            version: v.version,
            scan: { report, override: before?.override ?? null },
          },
        ],
        actor,
      ),
    );
    if (report.verdict === 'unsafe') out.unsafe.push({ name: v.name, version: v.version });
    const now = importSet(report.files);
    const then = before ? importSet(before.report.files) : new Set<string>();
    const added = [...now].filter((i) => !then.has(i));
    const removed = [...then].filter((i) => !now.has(i));
    if (!before || before.verdict !== report.verdict || added.length || removed.length) {
      out.changes.push({
        name: v.name,
        version: v.version,
        before: before ? { verdict: before.verdict, scanner: before.scanner } : null,
        after: { verdict: report.verdict, scanner: report.scanner },
        importsAdded: added,
        importsRemoved: removed,
      });
    }
  }
  return out;
}
