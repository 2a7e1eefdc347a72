CREATE TABLE span (id INTEGER PRIMARY KEY, starts TEXT, ends TEXT, label TEXT, CHECK (ends >= starts));
