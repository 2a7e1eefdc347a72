CREATE TABLE seat (id INTEGER PRIMARY KEY, row_no INTEGER, col_no INTEGER, UNIQUE (col_no, row_no));
