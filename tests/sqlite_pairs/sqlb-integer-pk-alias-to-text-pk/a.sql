CREATE TABLE country (id INTEGER PRIMARY KEY, iso TEXT NOT NULL UNIQUE, name TEXT);
INSERT INTO country (id, iso, name) VALUES (1, 'NO', 'Norway'), (2, 'SE', 'Sweden');
