-- mlreg registry format 8: followers (`mlreg follow`) and what each one serves.
-- One row per follower of a stage: a process on a serving host keeping DIR/current on the stage.
-- Written by the follower itself on every switch and as a heartbeat (at most every heartbeat_ms),
-- so `mlreg status NAME` shows per stage who serves which version and who stopped reporting.
-- Each switch is also a `deploy` event in the audit trail (events), beside the promotions.
CREATE TABLE followers (
  artifact_id     INTEGER NOT NULL REFERENCES artifacts (id),
  stage           TEXT NOT NULL,
  -- HOST:DIR by default, or follow --id
  follower        TEXT NOT NULL,
  host            TEXT NOT NULL,
  -- What DIR/current serves (the version may since have been deleted: kept as text).
  version         TEXT NOT NULL,
  -- The version's manifest digest. Not named *_digest: verify treats such columns as references to stored objects.
  manifest_sha256 TEXT NOT NULL,
  switched_at     TEXT NOT NULL,
  -- The last reload hook: {"result": "ok"|"failed"|"timeout"|"error", "exitCode", "ms", "message"}, or NULL (no hook)
  hook            TEXT CHECK (hook IS NULL OR json_valid(hook)),
  reported_at     TEXT NOT NULL,
  -- The follower promises a report at least this often; status marks it stale after three of them.
  heartbeat_ms    INTEGER NOT NULL CHECK (heartbeat_ms > 0),
  PRIMARY KEY (artifact_id, stage, follower)
) STRICT, WITHOUT ROWID;
