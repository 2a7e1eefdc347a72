CREATE TABLE contact (id INTEGER PRIMARY KEY, first TEXT, last TEXT, email TEXT);
CREATE VIEW contact_full AS SELECT id, first || ' ' || last AS full, email FROM contact;
CREATE TRIGGER contact_full_ins INSTEAD OF INSERT ON contact_full
BEGIN
  INSERT INTO contact (first, last, email) VALUES (substr(NEW.full, 1, instr(NEW.full, ' ') - 1), substr(NEW.full, instr(NEW.full, ' ') + 1), NEW.email);
END;
CREATE TRIGGER contact_full_del INSTEAD OF DELETE ON contact_full BEGIN DELETE FROM contact WHERE id = OLD.id; END;
INSERT INTO contact (first, last) VALUES ('Ada', 'Lovelace');
