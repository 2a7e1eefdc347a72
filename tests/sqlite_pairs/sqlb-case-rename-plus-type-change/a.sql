CREATE TABLE city (id INTEGER PRIMARY KEY, name TEXT, pop TEXT);
INSERT INTO city (name, pop) VALUES ('Oslo', '700000'), ('Bergen', '285000');
