-- Issue 15: identity (an anonymous id of a browser becomes a customer's alias) and what recommendations earn
-- (impressions and clicks of recommendation answers, and how many answers each placement and model gave a day).
CREATE TABLE aliases (
    project       TEXT NOT NULL REFERENCES projects(id),
    anonymous_id  TEXT NOT NULL,
    customer      TEXT NOT NULL,
    created_at    INTEGER NOT NULL,   -- epoch ms UTC
    PRIMARY KEY (project, anonymous_id)
) STRICT;
CREATE INDEX aliases_by_customer ON aliases (project, customer);

CREATE TABLE recommendation_events (
    project         TEXT NOT NULL,
    recommendation  TEXT NOT NULL,    -- the answer's recommendation_id
    kind            TEXT NOT NULL CHECK (kind IN ('impression', 'click')),
    item            TEXT,
    customer        TEXT,
    placement       TEXT,
    model           TEXT,
    at              INTEGER NOT NULL  -- epoch ms UTC, when it was received
) STRICT;
CREATE INDEX recommendation_events_by_time ON recommendation_events (project, at);
CREATE INDEX recommendation_events_by_customer ON recommendation_events (project, customer);

CREATE TABLE recommendation_requests (
    project    TEXT NOT NULL,
    day        INTEGER NOT NULL,      -- days since 1970-01-01, UTC
    placement  TEXT NOT NULL,         -- '' when the request named none
    model      TEXT NOT NULL,         -- '' before the first training
    requests   INTEGER NOT NULL,
    PRIMARY KEY (project, day, placement, model)
) STRICT;
