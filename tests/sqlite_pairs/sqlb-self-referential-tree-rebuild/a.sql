CREATE TABLE node (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES node (id), label TEXT);
INSERT INTO node (id, parent_id, label) VALUES (1, NULL, 'root'), (2, 1, 'a'), (3, 2, 'b');
