CREATE TABLE folder (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'untitled', created INTEGER);
CREATE TABLE file (id INTEGER PRIMARY KEY, folder_id INTEGER NOT NULL REFERENCES folder (id) ON DELETE CASCADE, name TEXT);
INSERT INTO folder (id, name) VALUES (1, 'docs'), (2, 'pics');
INSERT INTO file (folder_id, name) VALUES (1, 'a.txt'), (2, 'b.png'), (2, 'c.png');
