CREATE TABLE country (id INTEGER NOT NULL, iso TEXT NOT NULL PRIMARY KEY, name TEXT);
INSERT INTO country (id, iso, name) VALUES (1, 'NO', 'Norway'), (2, 'SE', 'Sweden');
