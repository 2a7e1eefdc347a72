CREATE TABLE invoice (id INTEGER PRIMARY KEY, total REAL NOT NULL);
INSERT INTO invoice (id, total) VALUES (1, 10), (2, 20), (5, 50);
