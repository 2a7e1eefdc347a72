CREATE TABLE author (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE quote (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES author (id), text TEXT);
INSERT INTO author (name) VALUES ('Twain');
INSERT INTO quote (author_id, text) VALUES (1, 'Get your facts first');
