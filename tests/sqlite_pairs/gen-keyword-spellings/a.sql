CREATE TABLE person (
  id INTEGER PRIMARY KEY,
  first TEXT, last TEXT,
  full_name TEXT AS (first || ' ' || last) VIRTUAL,
  initials TEXT GENERATED ALWAYS AS (substr(first, 1, 1) || substr(last, 1, 1)) STORED
);
