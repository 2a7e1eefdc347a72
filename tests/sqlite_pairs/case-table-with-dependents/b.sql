CREATE TABLE Invoice (id INTEGER PRIMARY KEY, total NUMERIC NOT NULL DEFAULT 0, paid INTEGER DEFAULT 0);
CREATE INDEX invoice_paid ON Invoice (paid);
CREATE TRIGGER invoice_no_negative BEFORE INSERT ON Invoice
WHEN NEW.total < 0
BEGIN
  SELECT RAISE(ABORT, 'negative total');
END;
CREATE VIEW unpaid AS SELECT id, total FROM Invoice WHERE paid = 0;
INSERT INTO Invoice (total) VALUES (10), (20);
