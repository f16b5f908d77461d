import { IntegrityError } from '../errors.js';
import {
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  DB_MEMBER,
  memberDigest,
  objectMemberPath,
  type BackupManifest,
  type BackupMember,
  type BackupRef,
} from './format.js';

/**
 * The decision behind `mlreg backup`, apart from the I/O: from the index snapshot (already copied
 * and read), the sizes of the objects in the store, and the base's manifest, which members this
 * archive carries, which objects it only lists because a base holds them, and the manifest that
 * says so. Pure, so full and incremental plans can be tested without a registry.
 */

export interface Snapshot {
  userVersion: number;
  counts: { artifacts: number; versions: number; events: number };
  objects: { digest: string; size: number }[];
}

export interface BackupPlanInput {
  readonly snapshot: Snapshot;
  /** The snapshot file of the index (the first member). */
  readonly db: { size: number; sha256: string };
  /** The earlier backup this one is incremental on, and the file name it is known by. */
  readonly base?: { manifest: BackupManifest; file: string } | undefined;
  /** Size of each object in the store (undefined: missing), for the objects no base holds. */
  readonly storedSizes: ReadonlyMap<string, number | undefined>;
  readonly id: string;
  readonly createdAt: string;
  readonly toolVersion: string;
}

export interface BackupPlan {
  manifest: BackupManifest;
  /** What the archive carries, in order: the index first, then the objects. */
  members: BackupMember[];
  /** Objects listed but held by a base backup. */
  external: BackupManifest['external'];
}

/** Objects held by a base backup (its own members and what it in turn lists), by digest → backup id. */
export function heldByBases(base: BackupManifest | undefined): Map<string, string> {
  const held = new Map<string, string>();
  if (!base) return held;
  for (const m of base.members) {
    const d = memberDigest(m.path);
    if (d) held.set(d, base.id);
  }
  for (const x of base.external) held.set(x.digest, x.backup);
  return held;
}

export function planBackup(input: BackupPlanInput): BackupPlan {
  const baseManifest = input.base?.manifest;
  const inBase = heldByBases(baseManifest);
  const requires = new Map<string, BackupRef>();
  if (input.base && baseManifest) {
    const self: BackupRef = { id: baseManifest.id, file: input.base.file, createdAt: baseManifest.createdAt };
    for (const r of [self, ...baseManifest.requires]) requires.set(r.id, r);
  }
  const members: BackupMember[] = [{ path: DB_MEMBER, size: input.db.size, sha256: input.db.sha256 }];
  const external: BackupManifest['external'] = [];
  let objectBytes = 0;
  for (const o of input.snapshot.objects) {
    objectBytes += o.size;
    const where = inBase.get(o.digest);
    if (where) {
      external.push({ digest: o.digest, size: o.size, backup: where });
      continue;
    }
    const size = input.storedSizes.get(o.digest);
    if (size !== o.size) {
      throw new IntegrityError(
        `object sha256:${o.digest} is ${size === undefined ? 'missing' : `${size} bytes, not ${o.size}`}; the backup would not restore`,
        {
          code: size === undefined ? 'E_OBJECT_MISSING' : 'E_OBJECT_CORRUPT',
          hint: 'Run `mlreg verify` to see what is affected; nothing was written.',
        },
      );
    }
    members.push({ path: objectMemberPath(o.digest), size: o.size, sha256: o.digest });
  }
  const usedBases = new Set(external.map((x) => x.backup));
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    formatVersion: BACKUP_FORMAT_VERSION,
    id: input.id,
    tool: { name: 'mlreg', version: input.toolVersion },
    createdAt: input.createdAt,
    registryFormat: input.snapshot.userVersion,
    kind: baseManifest ? 'incremental' : 'full',
    base: baseManifest ? requires.get(baseManifest.id)! : null,
    requires: [...requires.values()].filter((r) => usedBases.has(r.id) || r.id === baseManifest?.id),
    counts: {
      ...input.snapshot.counts,
      objects: input.snapshot.objects.length,
      objectBytes,
      members: members.length,
      memberBytes: members.reduce((s, m) => s + m.size, 0),
    },
    members,
    external,
  };
  return { manifest, members, external };
}
