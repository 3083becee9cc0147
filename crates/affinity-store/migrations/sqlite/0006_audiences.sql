-- Issue 5: audiences, each a rule over interactions stored as the JSON it was saved with (checked at save).
CREATE TABLE audiences (
    project     TEXT NOT NULL REFERENCES projects(id),
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    rule        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (project, id)
) STRICT;
