CREATE TABLE loan (id INTEGER PRIMARY KEY, amount REAL,
  CONSTRAINT positive_amount CHECK (amount > 0));
