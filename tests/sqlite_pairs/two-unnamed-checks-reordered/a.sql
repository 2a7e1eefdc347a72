CREATE TABLE range_t (id INTEGER PRIMARY KEY, lo INTEGER, hi INTEGER,
  CHECK (lo >= 0), CHECK (hi >= lo));
