CREATE TABLE status (id INTEGER PRIMARY KEY, s TEXT NOT NULL CHECK (s IN ('new', 'done', 'it''s "late"', 'CHECK (x)')));
INSERT INTO status (s) VALUES ('new'), ('done');
