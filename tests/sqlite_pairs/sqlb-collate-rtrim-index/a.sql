CREATE TABLE code (id INTEGER PRIMARY KEY, code TEXT NOT NULL);
CREATE INDEX code_code ON code (code);
INSERT INTO code (code) VALUES ('AB  '), ('CD');
