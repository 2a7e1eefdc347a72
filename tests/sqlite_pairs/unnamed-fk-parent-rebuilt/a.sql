CREATE TABLE lang (code TEXT PRIMARY KEY, name TEXT);
CREATE TABLE phrase (id INTEGER PRIMARY KEY, lang TEXT REFERENCES lang, text TEXT);
INSERT INTO lang VALUES ('en', 'English');
INSERT INTO phrase VALUES (1, 'en', 'hello');
