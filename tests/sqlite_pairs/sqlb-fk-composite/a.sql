CREATE TABLE region (country TEXT NOT NULL, code TEXT NOT NULL, name TEXT, PRIMARY KEY (country, code));
CREATE TABLE store (id INTEGER PRIMARY KEY, country TEXT, region TEXT);
INSERT INTO region VALUES ('NO', '03', 'Oslo'), ('SE', 'AB', 'Stockholm');
INSERT INTO store (country, region) VALUES ('NO', '03'), ('SE', 'AB'), (NULL, NULL);
