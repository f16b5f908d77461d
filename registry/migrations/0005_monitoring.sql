-- mlreg registry format 5: live monitoring (observations of deployed versions, stored alert rules,
-- human review samples). Applied in one transaction like every migration.

-- One live metric value of one version while it held a stage. The version is resolved when the
-- observation is recorded and stored with it, so a rollback never mixes two versions' numbers.
-- `version` copies the version string so the series outlives a deleted version.
CREATE TABLE observations (
  id          INTEGER PRIMARY KEY,
  artifact_id INTEGER NOT NULL REFERENCES artifacts (id),
  version_id  INTEGER REFERENCES versions (id) ON DELETE SET NULL,
  version     TEXT NOT NULL,
  stage       TEXT NOT NULL,
  metric      TEXT NOT NULL,
  -- 'all' for the whole batch, else the value of the slice column.
  slice       TEXT NOT NULL DEFAULT 'all',
  value       REAL NOT NULL,
  -- When the observed traffic happened (--at), and when and by whom it was written.
  at          TEXT NOT NULL,
  source      TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  recorded_by TEXT NOT NULL
) STRICT;
-- `monitor check`: the last N values of one metric of the current holder — one index seek however
-- many observations are stored (the benchmark holds 1,000,000).
CREATE INDEX observations_series ON observations (version_id, stage, metric, slice, at);
-- `monitor show` (an artifact's series over a time range) and "is this metric known here?".
CREATE INDEX observations_time ON observations (artifact_id, metric, at);

-- Alert rules kept in the registry, evaluated by `monitor check NAME` when no --rule is given.
-- `rule` is the canonical text the parser prints back, so the same rule is stored once.
CREATE TABLE monitor_rules (
  id          INTEGER PRIMARY KEY,
  artifact_id INTEGER NOT NULL REFERENCES artifacts (id),
  stage       TEXT NOT NULL,
  rule        TEXT NOT NULL,
  window_size INTEGER NOT NULL CHECK (window_size > 0),
  created_at  TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  UNIQUE (artifact_id, stage, rule)
) STRICT;

-- A sample of predictions handed to people for labelling (`review sample`). The review file carries
-- the sample id in its first column; `review import` reads back which version made the predictions
-- and which columns hold the id and the prediction, and refuses to import one sample twice.
CREATE TABLE review_samples (
  id                INTEGER PRIMARY KEY,
  artifact_id       INTEGER NOT NULL REFERENCES artifacts (id),
  version_id        INTEGER REFERENCES versions (id) ON DELETE SET NULL,
  version           TEXT NOT NULL,
  stage             TEXT NOT NULL,
  id_column         TEXT NOT NULL,
  prediction_column TEXT NOT NULL,
  stratify_column   TEXT,
  seed              INTEGER NOT NULL,
  size              INTEGER NOT NULL,
  created_at        TEXT NOT NULL,
  created_by        TEXT NOT NULL,
  imported_at       TEXT,
  imported_by       TEXT
) STRICT;
