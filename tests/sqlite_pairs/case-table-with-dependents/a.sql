CREATE TABLE invoice (id INTEGER PRIMARY KEY, total NUMERIC NOT NULL DEFAULT 0, paid INTEGER DEFAULT 0);
CREATE INDEX invoice_paid ON invoice (paid);
CREATE TRIGGER invoice_no_negative BEFORE INSERT ON invoice
WHEN NEW.total < 0
BEGIN
  SELECT RAISE(ABORT, 'negative total');
END;
CREATE VIEW unpaid AS SELECT id, total FROM invoice WHERE paid = 0;
INSERT INTO invoice (total) VALUES (10), (20);
