CREATE TABLE country (code TEXT PRIMARY KEY, name TEXT);
INSERT INTO country VALUES ('FR', 'France');
