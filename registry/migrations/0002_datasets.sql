-- mlreg registry format 2: dataset profiles.
-- The profile of a dataset version (per-column statistics, see src/core/datasets/profile/types.ts)
-- is computed once at `add` and kept in the index rather than as an object, so `check` and `compare`
-- read two small rows instead of re-reading the data. `format` is the profile JSON's own version, so
-- a newer mlreg can tell an old profile from a new one. A version added with --no-profile has no row.
CREATE TABLE dataset_profiles (
  version_id INTEGER PRIMARY KEY REFERENCES versions (id) ON DELETE CASCADE,
  format     INTEGER NOT NULL,
  profile    TEXT NOT NULL CHECK (json_valid(profile)),
  created_at TEXT NOT NULL
) STRICT;
