CREATE TABLE synonym (word TEXT COLLATE NOCASE, alt TEXT, PRIMARY KEY (word, alt)) WITHOUT ROWID;
INSERT INTO synonym VALUES ('Big', 'large');
