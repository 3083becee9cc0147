-- Issue 15: identity and what recommendations earn, as in the SQLite schema; aliases join the change feed.
CREATE TABLE aliases (
    project       text NOT NULL REFERENCES projects(id),
    anonymous_id  text NOT NULL,
    customer      text NOT NULL,
    created_at    bigint NOT NULL,
    PRIMARY KEY (project, anonymous_id)
);
CREATE INDEX aliases_by_customer ON aliases (project, customer);

CREATE TABLE recommendation_events (
    project         text NOT NULL,
    recommendation  text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('impression', 'click')),
    item            text,
    customer        text,
    placement       text,
    model           text,
    at              bigint NOT NULL
);
CREATE INDEX recommendation_events_by_time ON recommendation_events (project, at);
CREATE INDEX recommendation_events_by_customer ON recommendation_events (project, customer);

CREATE TABLE recommendation_requests (
    project    text NOT NULL,
    day        bigint NOT NULL,
    placement  text NOT NULL,
    model      text NOT NULL,
    requests   bigint NOT NULL,
    PRIMARY KEY (project, day, placement, model)
);

ALTER TABLE changes DROP CONSTRAINT changes_kind_check;
ALTER TABLE changes ADD CONSTRAINT changes_kind_check CHECK (kind IN ('project', 'keys', 'types', 'items', 'settings',
    'audiences', 'models', 'erase', 'experiences', 'aliases'));
