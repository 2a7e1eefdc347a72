CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT NOT NULL CHECK (json_valid(payload)), kind TEXT GENERATED ALWAYS AS (json_extract(payload, '$.kind')) VIRTUAL);
CREATE INDEX events_kind ON events (kind) WHERE kind IS NOT NULL;
INSERT INTO events (payload) VALUES ('{"kind":"click","x":1}'), ('{"x":2}');
