CREATE TABLE word (id INTEGER PRIMARY KEY, w TEXT, lang TEXT);
CREATE UNIQUE INDEX word_w ON word (lang, w COLLATE NOCASE DESC) WHERE lang IS NOT NULL AND w <> '';
INSERT INTO word (w, lang) VALUES ('Hello', 'en'), ('hej', 'sv');
