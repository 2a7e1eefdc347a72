CREATE TABLE word (id INTEGER PRIMARY KEY, w TEXT);
CREATE INDEX word_w ON word (w);
INSERT INTO word (w) VALUES ('Apple');
