-- mlreg registry format 1: artifacts, versions, stages with their assignment chain, events.
-- Applied by src/core/registry/db.ts when PRAGMA user_version < 1, in one transaction.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE config (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

-- A named model or dataset; one namespace for both.
CREATE TABLE artifacts (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  kind       TEXT NOT NULL CHECK (kind IN ('model', 'dataset')),
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL
) STRICT;

-- An immutable snapshot. `digest` names the manifest object (objects/sha256/..).
CREATE TABLE versions (
  id           INTEGER PRIMARY KEY,
  artifact_id  INTEGER NOT NULL REFERENCES artifacts (id),
  version      TEXT NOT NULL,
  digest       TEXT NOT NULL,
  source_type  TEXT NOT NULL CHECK (source_type IN ('file', 'dir')),
  size         INTEGER NOT NULL,
  file_count   INTEGER NOT NULL,
  description  TEXT,
  created_at   TEXT NOT NULL,
  created_by   TEXT NOT NULL,
  deprecated_at     TEXT,
  deprecated_by     TEXT,
  deprecated_reason TEXT,
  UNIQUE (artifact_id, version)
) STRICT;
CREATE INDEX versions_digest ON versions (digest);

-- Every object a version needs (its manifest and each file blob): what gc keeps and verify checks.
CREATE TABLE version_objects (
  version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
  digest     TEXT NOT NULL,
  size       INTEGER NOT NULL,
  PRIMARY KEY (version_id, digest)
) STRICT, WITHOUT ROWID;
CREATE INDEX version_objects_digest ON version_objects (digest);

-- Metrics recorded at `add`; params and tags are free text.
CREATE TABLE version_metrics (
  version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
  key        TEXT NOT NULL,
  value      REAL NOT NULL,
  PRIMARY KEY (version_id, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE version_params (
  version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,
  PRIMARY KEY (version_id, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE version_tags (
  version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,
  PRIMARY KEY (version_id, key)
) STRICT, WITHOUT ROWID;

-- Lineage: a model version trained on dataset versions.
CREATE TABLE lineage (
  version_id         INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
  dataset_version_id INTEGER NOT NULL REFERENCES versions (id),
  role               TEXT NOT NULL DEFAULT 'trained_on',
  PRIMARY KEY (version_id, dataset_version_id, role)
) STRICT, WITHOUT ROWID;
CREATE INDEX lineage_dataset ON lineage (dataset_version_id);

-- The append-only audit log. Version strings are copied in so history outlives deleted versions.
-- Stage moves (kind promote/rollback) form a chain through `below_event_id`: the assignment that a
-- rollback returns to. Promote pushes onto the chain, rollback pops, so rollbacks walk back and
-- never bounce to the version they left.
-- Registry-wide events (config changes) have no artifact.
CREATE TABLE events (
  id              INTEGER PRIMARY KEY,
  artifact_id     INTEGER REFERENCES artifacts (id),
  kind            TEXT NOT NULL,
  stage           TEXT,
  version_id      INTEGER REFERENCES versions (id) ON DELETE SET NULL,
  version         TEXT,
  from_version_id INTEGER REFERENCES versions (id) ON DELETE SET NULL,
  from_version    TEXT,
  below_event_id  INTEGER REFERENCES events (id),
  actor           TEXT NOT NULL,
  reason          TEXT,
  at              TEXT NOT NULL,
  details         TEXT
) STRICT;
CREATE INDEX events_artifact ON events (artifact_id, id);
CREATE INDEX events_stage ON events (artifact_id, stage, id);

-- Where each stage points now, and the event that put it there (the top of its chain).
CREATE TABLE stages (
  artifact_id INTEGER NOT NULL REFERENCES artifacts (id),
  stage       TEXT NOT NULL,
  version_id  INTEGER NOT NULL REFERENCES versions (id),
  event_id    INTEGER NOT NULL REFERENCES events (id),
  PRIMARY KEY (artifact_id, stage)
) STRICT, WITHOUT ROWID;
CREATE INDEX stages_version ON stages (version_id);
