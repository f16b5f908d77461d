-- mlreg registry format 3: evaluations (issue 4).
-- Metric values of a model version, optionally measured on a dataset version and a slice of it.
-- Rows are never updated: re-recording the same (version, dataset, slice, metric) appends a new
-- row, so the history of every measurement stays; the newest row (highest id) is the one that counts.
CREATE TABLE evaluations (
  id                 INTEGER PRIMARY KEY,
  -- The model version measured; its evaluations go when the version is deleted.
  version_id         INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
  -- The dataset version it was measured on; NULL for values recorded without a dataset.
  -- No ON DELETE action (like lineage): a dataset that models were evaluated on is not deleted silently.
  dataset_version_id INTEGER REFERENCES versions (id),
  -- A named subset of the dataset ('recent', 'segment=mobile'…); 'all' means every row.
  slice              TEXT NOT NULL DEFAULT 'all',
  metric             TEXT NOT NULL,
  value              REAL NOT NULL,
  recorded_at        TEXT NOT NULL,
  actor              TEXT NOT NULL,
  -- 'record' (mlreg eval record: values typed in) or 'run' (mlreg eval run: printed by the user's command).
  source             TEXT NOT NULL CHECK (source IN ('record', 'run')),
  -- The 'evaluate' event written in the same transaction (details hold the command for 'run').
  event_id           INTEGER REFERENCES events (id)
) STRICT;
-- "Newest value per (version, dataset, slice, metric)" is the query gates and compare run.
CREATE INDEX evaluations_latest ON evaluations (version_id, dataset_version_id, slice, metric, id);
CREATE INDEX evaluations_dataset ON evaluations (dataset_version_id);
