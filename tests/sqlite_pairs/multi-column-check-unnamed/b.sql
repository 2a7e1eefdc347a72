CREATE TABLE span (id INTEGER PRIMARY KEY, starts TEXT, ends TEXT, CHECK (ends >= starts));
