-- Issue 6: the failed-rows CSV of each finished import, so that every node can serve its download (the node that
-- ran the import also keeps it in its data directory). Files over 64 MiB stay with that node only.
CREATE TABLE import_failures (
    import      text PRIMARY KEY REFERENCES imports(id),
    csv         bytea NOT NULL
);
