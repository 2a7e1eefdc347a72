CREATE TABLE wallet (id INTEGER PRIMARY KEY, cents INTEGER);
CREATE TABLE wallet_log (wallet_id INTEGER, delta INTEGER);
CREATE TRIGGER wallet_audit AFTER UPDATE OF cents ON wallet WHEN NEW.cents <> OLD.cents
BEGIN INSERT INTO wallet_log VALUES (NEW.id, NEW.cents - OLD.cents); END;
INSERT INTO wallet VALUES (1, 100);
