CREATE TABLE login (id INTEGER PRIMARY KEY, email TEXT COLLATE NOCASE NOT NULL);
CREATE UNIQUE INDEX login_email ON login (email);
INSERT INTO login (email) VALUES ('a@x.io'), ('B@x.io');
