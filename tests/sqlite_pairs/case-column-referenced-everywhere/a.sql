CREATE TABLE vendor (id INTEGER PRIMARY KEY, Code TEXT NOT NULL UNIQUE);
CREATE TABLE purchase (
  id INTEGER PRIMARY KEY,
  vendor_code TEXT REFERENCES vendor (Code),
  Amount REAL CHECK (Amount > 0),
  doubled REAL AS (Amount * 2)
);
CREATE INDEX purchase_big ON purchase (Amount) WHERE Amount > 100;
CREATE TRIGGER purchase_guard BEFORE UPDATE OF Amount ON purchase WHEN NEW.Amount > 1e6
BEGIN SELECT RAISE(ABORT, 'too big'); END;
INSERT INTO vendor VALUES (1, 'v1');
INSERT INTO purchase (vendor_code, Amount) VALUES ('v1', 5);
