import type { Registry } from '../registry/registry.js';

/** What a replica knows about its remote (table `remote`, migration 0006): one row, or none for a local registry. */
export interface ReplicaInfo {
  url: string;
  endpoint: string | null;
  region: string | null;
  writerId: string;
  /** The last log entry applied here. */
  position: number;
  checkpoint: number | null;
  attachedAt: string;
  pulledAt: string | null;
}

export function replicaInfo(reg: Registry): ReplicaInfo | undefined {
  const row = reg.db.prepare('SELECT * FROM remote WHERE id = 1').get() as
    | {
        url: string;
        endpoint: string | null;
        region: string | null;
        writer_id: string;
        position: number;
        checkpoint: number | null;
        attached_at: string;
        pulled_at: string | null;
      }
    | undefined;
  if (!row) return undefined;
  return {
    url: row.url,
    endpoint: row.endpoint,
    region: row.region,
    writerId: row.writer_id,
    position: row.position,
    checkpoint: row.checkpoint,
    attachedAt: row.attached_at,
    pulledAt: row.pulled_at,
  };
}

export function readPosition(reg: Registry): number {
  return (reg.db.prepare('SELECT position FROM remote WHERE id = 1').get() as { position: number }).position;
}

/** Inside the transaction that applied entries up to `position`. */
export function setPosition(reg: Registry, position: number, at: string): void {
  reg.db.prepare('UPDATE remote SET position = ?, pulled_at = ? WHERE id = 1').run(position, at);
}

export function markPulled(reg: Registry, at: string): void {
  try {
    reg.db.prepare('UPDATE remote SET pulled_at = ? WHERE id = 1').run(at);
  } catch {
    /* a read-only registry or a busy lock: the time of the last refresh is only informative */
  }
}

export function insertReplicaInfo(
  reg: Registry,
  info: Omit<ReplicaInfo, 'pulledAt' | 'attachedAt'> & { attachedAt: string },
): void {
  reg.db
    .prepare(`INSERT INTO remote (id, url, endpoint, region, writer_id, position, checkpoint, attached_at, pulled_at)
              VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)`)
    .run(
      info.url,
      info.endpoint,
      info.region,
      info.writerId,
      info.position,
      info.checkpoint,
      info.attachedAt,
      info.attachedAt,
    );
}
