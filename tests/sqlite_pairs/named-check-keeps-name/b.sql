CREATE TABLE loan (id INTEGER PRIMARY KEY, amount REAL, rate REAL DEFAULT (0.05),
  CONSTRAINT positive_amount CHECK (amount > 0));
