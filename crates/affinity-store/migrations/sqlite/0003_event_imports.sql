-- Which import stored an event (NULL for POST /feedback), so that a restart can count exactly what an
-- interrupted import stored. Read only then, by a scan: no index on the ingest path.
ALTER TABLE events ADD COLUMN import_id TEXT;
