-- Issue 15: the `public` key scope (a key a web page may hold). SQLite cannot alter a CHECK constraint, so the
-- table is rebuilt with the wider one.
CREATE TABLE api_keys_scoped (
    id          TEXT PRIMARY KEY,
    project     TEXT NOT NULL REFERENCES projects(id),
    scope       TEXT NOT NULL CHECK (scope IN ('public', 'ingest', 'admin')),
    hash        BLOB NOT NULL UNIQUE,   -- SHA-256 of the secret; the secret itself is never stored
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;
INSERT INTO api_keys_scoped (id, project, scope, hash, created_at, revoked_at)
    SELECT id, project, scope, hash, created_at, revoked_at FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_scoped RENAME TO api_keys;
