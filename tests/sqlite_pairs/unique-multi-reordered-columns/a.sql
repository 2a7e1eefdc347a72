CREATE TABLE seat (id INTEGER PRIMARY KEY, row_no INTEGER, col_no INTEGER, UNIQUE (row_no, col_no));
