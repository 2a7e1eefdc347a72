CREATE TABLE session (id INTEGER PRIMARY KEY, created TEXT DEFAULT (datetime('now')), ttl INTEGER DEFAULT (60 * 60));
