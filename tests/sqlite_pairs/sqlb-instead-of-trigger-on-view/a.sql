CREATE TABLE contact (id INTEGER PRIMARY KEY, first TEXT, last TEXT);
CREATE VIEW contact_full AS SELECT id, first || ' ' || last AS full FROM contact;
CREATE TRIGGER contact_full_ins INSTEAD OF INSERT ON contact_full
BEGIN
  INSERT INTO contact (first, last) VALUES (substr(NEW.full, 1, instr(NEW.full, ' ') - 1), substr(NEW.full, instr(NEW.full, ' ') + 1));
END;
INSERT INTO contact (first, last) VALUES ('Ada', 'Lovelace');
