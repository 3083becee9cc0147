-- Issue 8: experiences (targeting) and exposures, as in the SQLite schema; experiences join the change feed.
CREATE TABLE experiences (
    project     text NOT NULL REFERENCES projects(id),
    id          text NOT NULL,
    body        text NOT NULL,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (project, id)
);

CREATE TABLE exposures (
    project     text NOT NULL,
    experience  text NOT NULL,
    variant     text NOT NULL,
    customer    text NOT NULL,
    at          bigint NOT NULL
);
CREATE INDEX exposures_by_experience ON exposures (project, experience);

ALTER TABLE changes DROP CONSTRAINT changes_kind_check;
ALTER TABLE changes ADD CONSTRAINT changes_kind_check CHECK (kind IN ('project', 'keys', 'types', 'items', 'settings',
    'audiences', 'models', 'erase', 'experiences'));
