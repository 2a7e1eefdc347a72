CREATE TABLE lang (code TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '?', native TEXT);
CREATE TABLE phrase (id INTEGER PRIMARY KEY, lang TEXT REFERENCES lang, text TEXT);
INSERT INTO lang (code, name) VALUES ('en', 'English');
INSERT INTO phrase VALUES (1, 'en', 'hello');
