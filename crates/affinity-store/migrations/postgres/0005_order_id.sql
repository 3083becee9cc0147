-- Issue 14: the order a cart or purchase line belongs to, as in the SQLite schema.
ALTER TABLE events ADD COLUMN order_id text;
