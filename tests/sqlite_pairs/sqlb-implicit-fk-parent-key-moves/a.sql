-- REFERENCES parent (no columns) means the key the parent has after the plan: when the key
-- moves to code, the child must be rebuilt to keep referencing parent (id).
CREATE TABLE parent (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE);
CREATE TABLE child (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES parent);
INSERT INTO parent (id, code) VALUES (1, 'a'), (2, 'b');
INSERT INTO child (pid) VALUES (1), (2);
