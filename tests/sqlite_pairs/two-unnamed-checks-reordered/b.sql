CREATE TABLE range_t (id INTEGER PRIMARY KEY, lo INTEGER, hi INTEGER,
  CHECK (hi >= lo), CHECK (lo >= 0));
