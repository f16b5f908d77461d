import type { Registry } from '../registry/registry.js';
import type { ScanReport } from './scan.js';
import type { Signature } from './signature.js';

/** The scans and signatures of model versions in the index (migration 0007). */

export interface RecordedScan {
  scanner: string;
  allowlistDigest: string;
  verdict: 'safe' | 'unsafe';
  override: string | null;
  scannedAt: string;
  scannedBy: string;
  report: Pick<ScanReport, 'allowExtra' | 'files' | 'findings'>;
}

export function insertScan(
  reg: Registry,
  versionId: number,
  report: ScanReport,
  opts: { override: string | null; at: string; actor: string },
): void {
  reg.db
    .prepare(
      `INSERT INTO model_scans (version_id, scanner, allowlist_sha256, verdict, report, override, scanned_at, scanned_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      versionId,
      report.scanner,
      report.allowlistDigest,
      report.verdict,
      JSON.stringify({ allowExtra: report.allowExtra, files: report.files, findings: report.findings }),
      opts.override,
      opts.at,
      opts.actor,
    );
}

interface ScanRow {
  version_id: number;
  scanner: string;
  allowlist_sha256: string;
  verdict: 'safe' | 'unsafe';
  report: string;
  override: string | null;
  scanned_at: string;
  scanned_by: string;
}

function toScan(r: ScanRow): RecordedScan {
  return {
    scanner: r.scanner,
    allowlistDigest: r.allowlist_sha256,
    verdict: r.verdict,
    override: r.override,
    scannedAt: r.scanned_at,
    scannedBy: r.scanned_by,
    report: JSON.parse(r.report) as RecordedScan['report'],
  };
}

/** The newest scan of a version (the one that counts), or null for versions added before scans existed. */
export function latestScan(reg: Registry, versionId: number): RecordedScan | null {
  const row = reg.db
    .prepare('SELECT * FROM model_scans WHERE version_id = ? ORDER BY id DESC LIMIT 1')
    .get(versionId) as ScanRow | undefined;
  return row ? toScan(row) : null;
}

/** Version ids of an artifact whose newest scan is unsafe. */
export function unsafeVersionIds(reg: Registry, artifactId: number): Set<number> {
  const rows = reg.db
    .prepare(
      `SELECT s.version_id FROM model_scans s JOIN versions v ON v.id = s.version_id
       WHERE v.artifact_id = ? AND s.id = (SELECT MAX(id) FROM model_scans WHERE version_id = s.version_id)
         AND s.verdict = 'unsafe'`,
    )
    .all(artifactId) as { version_id: number }[];
  return new Set(rows.map((r) => r.version_id));
}

export function isFlaggedUnsafe(reg: Registry, versionId: number): boolean {
  return latestScan(reg, versionId)?.verdict === 'unsafe';
}

export function insertSignature(reg: Registry, versionId: number, sig: Signature): void {
  const source = sig.format === 'given' ? 'given' : sig.format;
  reg.db
    .prepare('INSERT OR REPLACE INTO model_signatures (version_id, source, signature) VALUES (?, ?, ?)')
    .run(versionId, source, JSON.stringify(sig));
}

export function signatureOf(reg: Registry, versionId: number): Signature | null {
  const row = reg.db.prepare('SELECT signature FROM model_signatures WHERE version_id = ?').get(versionId) as
    | { signature: string }
    | undefined;
  return row ? (JSON.parse(row.signature) as Signature) : null;
}
