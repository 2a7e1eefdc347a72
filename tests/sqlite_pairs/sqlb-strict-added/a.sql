CREATE TABLE metric (id INTEGER PRIMARY KEY, name TEXT NOT NULL, value REAL, raw ANY);
INSERT INTO metric (name, value, raw) VALUES ('cpu', 0.75, 'x'), ('mem', 512, 3);
