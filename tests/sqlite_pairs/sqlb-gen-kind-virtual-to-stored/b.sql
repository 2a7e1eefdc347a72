CREATE TABLE doc (id INTEGER PRIMARY KEY, body TEXT NOT NULL, body_len INTEGER GENERATED ALWAYS AS (length(body)) STORED);
INSERT INTO doc (body) VALUES ('hello'), ('');
