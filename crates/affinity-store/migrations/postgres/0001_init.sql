-- affinity on PostgreSQL, schema version 1: the same tables as the SQLite schema after its migration 6.
-- Times are epoch ms UTC in bigint columns; JSON documents are stored as the text affinity wrote (never queried
-- by the database, so jsonb's parse on every insert would buy nothing).

CREATE TABLE projects (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    created_at  bigint NOT NULL
);

CREATE TABLE api_keys (
    id          text PRIMARY KEY,
    project     text NOT NULL REFERENCES projects(id),
    scope       text NOT NULL CHECK (scope IN ('ingest', 'admin')),
    hash        bytea NOT NULL UNIQUE,      -- SHA-256 of the secret; the secret itself is never stored
    created_at  bigint NOT NULL,
    revoked_at  bigint
);

CREATE TABLE interaction_types (
    project     text NOT NULL REFERENCES projects(id),
    id          text NOT NULL,
    name        text NOT NULL,
    parameters  text NOT NULL,              -- JSON array of {"id","type","required"}
    archived    boolean NOT NULL DEFAULT false,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (project, id)
);

-- The event log. Sequence numbers come from event_seq, allocated and committed under one advisory lock
-- (see postgres/events.rs), so that commit order is sequence order and a node following the log by
-- `seq > last seen` never misses an event committed by another node.
CREATE SEQUENCE event_seq AS bigint;

-- Partitioned by month of `ts` (when the event happened): old months can be detached, archived or dropped whole,
-- and a scan over a window touches only its months. Partitions are created on demand by the writer.
-- One index, on seq: the only queries are "events after seq N" (start-up, nodes following the log) and
-- "these seqs" (erasure). Per-customer reads and duplicate checks use each node's in-memory views.
CREATE TABLE events (
    seq         bigint NOT NULL,
    project     text NOT NULL,
    event       text NOT NULL,              -- interaction type id
    customer    text NOT NULL,
    item        text,
    ts          bigint NOT NULL,            -- when it happened, epoch ms UTC
    quantity    double precision,
    price       double precision,
    params      text,                       -- canonical JSON object, or NULL
    client_id   text,                       -- the client's event id, for idempotency
    received_at bigint NOT NULL             -- when affinity stored it, epoch ms UTC
) PARTITION BY RANGE (ts);
CREATE INDEX events_by_seq ON events (seq);

CREATE TABLE imports (
    ord          bigserial,                 -- insertion order, to list imports created in the same ms
    id           text PRIMARY KEY,
    project      text NOT NULL REFERENCES projects(id),
    interaction  text,                      -- NULL for a file with an event column
    status       text NOT NULL CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
    dry_run      boolean NOT NULL,
    content_hash bytea,                     -- SHA-256 of the bytes as uploaded
    bytes        bigint NOT NULL DEFAULT 0,
    rows         bigint NOT NULL DEFAULT 0,
    report       text,                      -- the report as JSON (partial while running)
    error        text,
    created_at   bigint NOT NULL,
    finished_at  bigint,
    stored       bigint NOT NULL DEFAULT 0  -- events stored, counted in the same transaction as the events
);
CREATE INDEX imports_by_hash ON imports (project, content_hash);

CREATE TABLE items (
    project     text NOT NULL REFERENCES projects(id),
    id          text NOT NULL,
    title       text,
    categories  text NOT NULL,              -- JSON array of texts
    price       double precision,
    available   boolean NOT NULL,
    properties  text NOT NULL,              -- JSON object of text, number or boolean values
    updated_at  bigint NOT NULL,
    PRIMARY KEY (project, id)
);

CREATE TABLE settings (
    project     text PRIMARY KEY REFERENCES projects(id),
    body        text NOT NULL,
    updated_at  bigint NOT NULL
);

CREATE TABLE models (
    project     text NOT NULL REFERENCES projects(id),
    kind        text NOT NULL,
    trained_at  bigint NOT NULL,
    meta        text NOT NULL,
    data        bytea NOT NULL,
    PRIMARY KEY (project, kind)
);

CREATE TABLE audiences (
    project     text NOT NULL REFERENCES projects(id),
    id          text NOT NULL,
    name        text NOT NULL,
    rule        text NOT NULL,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (project, id)
);
