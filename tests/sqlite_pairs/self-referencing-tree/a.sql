CREATE TABLE node (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES node (id), label TEXT);
INSERT INTO node VALUES (1, NULL, 'root'), (2, 1, 'child');
