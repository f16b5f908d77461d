-- mlreg registry format 9: stage-change webhooks.
-- Needs only format 7 and earlier; 0008 (followers) is independent of it.

-- Subscriptions: which URL is told of which events, of one artifact or of all. Shared registry state:
-- on a replica they come through the remote log (webhook.add / webhook.remove operations), so every
-- replica knows them, and whichever machine makes a change delivers it. The secret is never stored,
-- only the name of the environment variable that holds it on the machine that delivers.
CREATE TABLE webhooks (
  id         INTEGER PRIMARY KEY,
  -- An http:// or https:// URL without user:password (checked on the way in and on restore).
  url        TEXT NOT NULL,
  -- The events it takes, a JSON list of names: ["promote","rollback"].
  events     TEXT NOT NULL CHECK (json_valid(events) AND json_type(events) = 'array'),
  -- Only this artifact's events, or NULL for every artifact.
  artifact   TEXT,
  secret_env TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL
) STRICT;
-- One subscription per URL and artifact (NULL, every artifact, counts as one value here).
CREATE UNIQUE INDEX webhooks_target ON webhooks (url, coalesce(artifact, ''));

-- Deliveries made from this folder. Local to it (never sent to a remote, not in checkpoints): each
-- machine delivers the changes it made and keeps its own record. Removing a subscription removes them.
CREATE TABLE webhook_deliveries (
  id          INTEGER PRIMARY KEY,
  webhook_id  INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  -- The X-Mlreg-Delivery header: a uuid the receiver can use to drop a delivery it already had.
  delivery    TEXT NOT NULL,
  event       TEXT NOT NULL,
  artifact    TEXT,
  status      TEXT NOT NULL CHECK (status IN ('delivered', 'failed')),
  -- The HTTP status of the last answer, NULL when none came (timeout, refused connection, no secret).
  http_status INTEGER,
  attempts    INTEGER NOT NULL CHECK (attempts >= 0),
  last_error  TEXT,
  at          TEXT NOT NULL,
  duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0)
) STRICT;
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
