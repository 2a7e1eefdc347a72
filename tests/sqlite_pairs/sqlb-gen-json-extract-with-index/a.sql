CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT NOT NULL CHECK (json_valid(payload)));
INSERT INTO events (payload) VALUES ('{"kind":"click","x":1}'), ('{"x":2}');
