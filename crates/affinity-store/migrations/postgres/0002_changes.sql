-- Issue 6: the change feed. Nodes sharing the database follow the event log by seq for events, and this table for
-- everything else they keep in memory: each write of a project, key, interaction type, item, settings, audience
-- or model, and each erasure, adds a row in the same transaction. Rows are added under an advisory lock held to
-- commit, so they become visible in seq order. Rows older than any node's position can be deleted at will.
CREATE TABLE changes (
    seq         bigint PRIMARY KEY,
    project     text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('project', 'keys', 'types', 'items', 'settings', 'audiences',
                                              'models', 'erase')),
    key         text,                       -- erased customer; JSON array of item ids; NULL: the whole kind
    at          bigint NOT NULL             -- epoch ms UTC
);
CREATE SEQUENCE change_seq AS bigint;

-- The node running each import (its data directory's node id): a node starting up marks only its own unfinished
-- imports interrupted, not those other nodes are running.
ALTER TABLE imports ADD COLUMN node text;
