CREATE TABLE audit (id INTEGER PRIMARY KEY, action TEXT NOT NULL, at INTEGER);
INSERT INTO audit (action, at) VALUES ('login', 1700000000), ('logout', 1700000500);
