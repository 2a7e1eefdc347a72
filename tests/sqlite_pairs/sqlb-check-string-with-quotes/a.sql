CREATE TABLE status (id INTEGER PRIMARY KEY, s TEXT NOT NULL CHECK (s IN ('new', 'done')));
INSERT INTO status (s) VALUES ('new'), ('done');
