-- Issue 15: the `public` key scope (a key a web page may hold).
ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_scope_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scope_check CHECK (scope IN ('public', 'ingest', 'admin'));
