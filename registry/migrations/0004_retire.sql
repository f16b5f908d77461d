-- mlreg registry format 4: tombstones of deleted versions.
-- `mlreg delete` removes a version's rows from the index (its bytes go with the next `gc`), but its
-- number must never be handed out again: a later `add` that produced fraud@1.3.0 a second time would
-- make old logs, serving folders and backups name two different models. addVersion plans new numbers
-- from versions UNION deleted_versions.
CREATE TABLE deleted_versions (
  artifact_id INTEGER NOT NULL REFERENCES artifacts (id),
  version     TEXT NOT NULL,
  -- The manifest digest it had, so an audit can still say what the deleted version contained.
  digest      TEXT NOT NULL,
  deleted_at  TEXT NOT NULL,
  deleted_by  TEXT NOT NULL,
  reason      TEXT,
  PRIMARY KEY (artifact_id, version)
) STRICT, WITHOUT ROWID;
