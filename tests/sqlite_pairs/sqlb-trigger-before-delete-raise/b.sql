CREATE TABLE invoice2 (id INTEGER PRIMARY KEY, paid INTEGER NOT NULL DEFAULT 0);
CREATE TRIGGER invoice2_no_delete_paid BEFORE DELETE ON invoice2 FOR EACH ROW WHEN OLD.paid = 1
BEGIN
  SELECT RAISE(ABORT, 'cannot delete a paid invoice; void it');
END;
INSERT INTO invoice2 (paid) VALUES (0), (1);
