CREATE TABLE handle (id INTEGER PRIMARY KEY, Nick TEXT CHECK (length(trim(Nick)) > 0));
