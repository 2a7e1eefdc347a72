CREATE TABLE account (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL DEFAULT 0);
CREATE TABLE ledger (id INTEGER PRIMARY KEY, account_id INTEGER, delta INTEGER, note TEXT);
CREATE TRIGGER account_audit AFTER UPDATE OF balance ON account
WHEN NEW.balance <> OLD.balance
BEGIN
  INSERT INTO ledger (account_id, delta) VALUES (NEW.id, NEW.balance - OLD.balance);
END;
INSERT INTO account (balance) VALUES (100), (5);
