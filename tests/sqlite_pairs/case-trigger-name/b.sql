CREATE TABLE account (id INTEGER PRIMARY KEY, balance REAL DEFAULT 0, updated TEXT);
CREATE TRIGGER Account_Touch AFTER UPDATE OF balance ON account
BEGIN
  UPDATE account SET updated = datetime('now') WHERE id = NEW.id;
END;
