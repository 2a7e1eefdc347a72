CREATE TABLE big (id INTEGER PRIMARY KEY, a TEXT, b INTEGER DEFAULT 1, c TEXT, d REAL);
CREATE INDEX big_a ON big (a);
INSERT INTO big (a, b, d) VALUES ('x', 1, 1.5), ('y', 3, 0);
