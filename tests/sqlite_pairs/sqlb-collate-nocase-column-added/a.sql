CREATE TABLE tag (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE);
INSERT INTO tag (label) VALUES ('Red'), ('green'), ('BLUE');
