-- File imports (issue 3): one row per upload, updated as it runs so that a restart knows what was stored.
CREATE TABLE imports (
    id           TEXT PRIMARY KEY,
    project      TEXT NOT NULL REFERENCES projects(id),
    interaction  TEXT,                  -- NULL for a file with an event column
    status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
    dry_run      INTEGER NOT NULL,
    content_hash BLOB,                  -- SHA-256 of the bytes as uploaded
    bytes        INTEGER NOT NULL DEFAULT 0,
    rows         INTEGER NOT NULL DEFAULT 0,
    report       TEXT,                  -- the report as JSON (partial while running)
    error        TEXT,
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER
) STRICT;

CREATE INDEX imports_by_hash ON imports (project, content_hash);
