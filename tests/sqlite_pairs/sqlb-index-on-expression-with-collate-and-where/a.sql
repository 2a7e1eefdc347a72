CREATE TABLE word (id INTEGER PRIMARY KEY, w TEXT, lang TEXT);
INSERT INTO word (w, lang) VALUES ('Hello', 'en'), ('hej', 'sv');
