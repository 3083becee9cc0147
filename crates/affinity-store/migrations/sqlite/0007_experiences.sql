-- Issue 8: experiences (targeting) as the merchant wrote them, and exposures (which customer was shown which
-- variant, when) for the experiences' reports.
CREATE TABLE experiences (
    project     TEXT NOT NULL REFERENCES projects(id),
    id          TEXT NOT NULL,
    body        TEXT NOT NULL,          -- the experience as JSON (rule, variants, schedule…)
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (project, id)
) STRICT;

CREATE TABLE exposures (
    project     TEXT NOT NULL,
    experience  TEXT NOT NULL,
    variant     TEXT NOT NULL,
    customer    TEXT NOT NULL,
    at          INTEGER NOT NULL        -- epoch ms UTC
) STRICT;
CREATE INDEX exposures_by_experience ON exposures (project, experience);
