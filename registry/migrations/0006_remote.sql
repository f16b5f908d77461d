-- mlreg registry format 6: a replica of a remote registry (s3:// or file://).
-- One row when this folder is a replica; none for a registry that is only local. Every shared table
-- of the index is then exactly the remote's state after log entry `position` (the replayed entries
-- 1..position); the objects folder holds the objects fetched so far. Credentials are never stored.
CREATE TABLE remote (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  url         TEXT NOT NULL,
  -- --endpoint given at clone/init/attach (a custom S3 endpoint); NULL for the SDK's default chain.
  endpoint    TEXT,
  region      TEXT,
  -- This replica's writer id (a uuid): every log entry it writes carries it, so an ambiguous answer
  -- to a conditional PUT is settled by reading the entry back.
  writer_id   TEXT NOT NULL,
  -- The number of the last log entry applied here (0: none yet).
  position    INTEGER NOT NULL CHECK (position >= 0),
  -- The checkpoint this replica started from (clone), and when it last applied entries from the remote.
  checkpoint  INTEGER,
  attached_at TEXT NOT NULL,
  pulled_at   TEXT
) STRICT;
