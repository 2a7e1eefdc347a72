CREATE TABLE cache (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v TEXT);
INSERT INTO cache (k, v) VALUES ('a', '1'), ('b', '2');
