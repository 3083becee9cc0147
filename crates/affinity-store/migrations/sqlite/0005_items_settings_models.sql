-- Issue 4: the item catalog, per-project settings and trained models.

CREATE TABLE items (
    project     TEXT NOT NULL REFERENCES projects(id),
    id          TEXT NOT NULL,
    title       TEXT,
    categories  TEXT NOT NULL,          -- JSON array of texts
    price       REAL,
    available   INTEGER NOT NULL,
    properties  TEXT NOT NULL,          -- JSON object of text, number or boolean values
    updated_at  INTEGER NOT NULL,       -- epoch ms UTC
    PRIMARY KEY (project, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE settings (
    project     TEXT PRIMARY KEY REFERENCES projects(id),
    body        TEXT NOT NULL,          -- the settings document as JSON
    updated_at  INTEGER NOT NULL
) STRICT;

-- One row per project and model kind: the newest trained model, replaced atomically by each training.
CREATE TABLE models (
    project     TEXT NOT NULL REFERENCES projects(id),
    kind        TEXT NOT NULL,          -- popular, similar, bought_together, ease, item_knn
    trained_at  INTEGER NOT NULL,       -- epoch ms UTC
    meta        TEXT NOT NULL,          -- JSON: fit duration, sizes, last evaluation
    data        BLOB NOT NULL,          -- the parameters, in the model's own binary layout
    PRIMARY KEY (project, kind)
) STRICT;
