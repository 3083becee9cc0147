-- affinity schema, version 1.
-- The event log is append-only and carries no secondary index: per-customer reads and duplicate checks are
-- answered by the in-memory views, which keeps inserts at SQLite's bulk speed.

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    project     TEXT NOT NULL REFERENCES projects(id),
    scope       TEXT NOT NULL CHECK (scope IN ('ingest', 'admin')),
    hash        BLOB NOT NULL UNIQUE,   -- SHA-256 of the secret; the secret itself is never stored
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;

CREATE TABLE interaction_types (
    project     TEXT NOT NULL REFERENCES projects(id),
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    parameters  TEXT NOT NULL,          -- JSON array of {"id","type","required"}
    archived    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (project, id)
) STRICT;

-- AUTOINCREMENT: sequence numbers are never reused, even after the newest events are erased, so that readers
-- following the log by sequence number never miss or repeat an event.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    project     TEXT NOT NULL,
    event       TEXT NOT NULL,          -- interaction type id
    customer    TEXT NOT NULL,
    item        TEXT,
    ts          INTEGER NOT NULL,       -- when it happened, epoch ms UTC
    quantity    REAL,
    price       REAL,
    params      TEXT,                   -- canonical JSON object, or NULL
    client_id   TEXT,                   -- the client's event id, for idempotency
    received_at INTEGER NOT NULL        -- when affinity stored it, epoch ms UTC
) STRICT;
