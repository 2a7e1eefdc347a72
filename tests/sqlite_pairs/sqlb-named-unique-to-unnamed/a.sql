CREATE TABLE seat (id INTEGER PRIMARY KEY, row_no INTEGER NOT NULL, col_no INTEGER NOT NULL, CONSTRAINT seat_pos UNIQUE (row_no, col_no));
INSERT INTO seat (row_no, col_no) VALUES (1, 1), (1, 2), (2, 1);
