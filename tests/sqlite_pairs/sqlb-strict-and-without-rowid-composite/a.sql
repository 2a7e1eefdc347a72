CREATE TABLE edge (src INTEGER NOT NULL, dst INTEGER NOT NULL, weight REAL DEFAULT 1.0, PRIMARY KEY (src, dst));
INSERT INTO edge (src, dst, weight) VALUES (1, 2, 0.5), (2, 3, 2);
