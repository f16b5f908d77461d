-- mlreg registry format 7: model scans and input signatures.
-- Every scan of a model version's pickles (at `add`, and each `scan --all`) is kept, newest last: the
-- scanner and allowlist it ran with, the imports found in each file and the verdict. The newest scan
-- of a version is the one that counts: `list`, `show` and `eval run` flag a version whose newest scan
-- is unsafe. `override` says who let an unsafe version in (`--unsafe` at add), else NULL.
CREATE TABLE model_scans (
  id               INTEGER PRIMARY KEY,
  version_id       INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
  scanner          TEXT NOT NULL,
  -- Not named *_digest: verify treats such columns as references to stored objects.
  allowlist_sha256 TEXT NOT NULL,
  verdict          TEXT NOT NULL CHECK (verdict IN ('safe', 'unsafe')),
  -- {"allowExtra": [...], "files": [{path, format, imports: [{import, verdict, count, firstOffset}]}],
  --  "findings": [{file, offset, import, op, verdict, why}]}
  report           TEXT NOT NULL CHECK (json_valid(report)),
  override         TEXT,
  scanned_at       TEXT NOT NULL,
  scanned_by       TEXT NOT NULL
) STRICT;
CREATE INDEX model_scans_version ON model_scans (version_id, id);

-- What a model version expects as input: read from its files without running them (scikit-learn
-- pickles, ONNX graphs) or given with --signature. One row per version, written at `add`.
CREATE TABLE model_signatures (
  version_id INTEGER PRIMARY KEY REFERENCES versions (id) ON DELETE CASCADE,
  -- 'sklearn', 'onnx' or 'given'
  source     TEXT NOT NULL,
  signature  TEXT NOT NULL CHECK (json_valid(signature))
) STRICT;
