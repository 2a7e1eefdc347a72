CREATE TABLE vendor (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE);
CREATE TABLE purchase (
  id INTEGER PRIMARY KEY,
  vendor_code TEXT REFERENCES vendor (code),
  amount REAL CHECK (amount > 0),
  doubled REAL AS (amount * 2)
);
CREATE INDEX purchase_big ON purchase (amount) WHERE amount > 100;
CREATE TRIGGER purchase_guard BEFORE UPDATE OF amount ON purchase WHEN NEW.amount > 1e6
BEGIN SELECT RAISE(ABORT, 'too big'); END;
INSERT INTO vendor VALUES (1, 'v1');
INSERT INTO purchase (vendor_code, amount) VALUES ('v1', 5);
