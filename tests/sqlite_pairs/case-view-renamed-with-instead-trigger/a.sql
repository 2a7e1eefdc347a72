CREATE TABLE staff (id INTEGER PRIMARY KEY, name TEXT);
CREATE VIEW staff_v AS SELECT id, name FROM staff;
CREATE TRIGGER staff_v_upd INSTEAD OF UPDATE ON staff_v
BEGIN UPDATE staff SET name = NEW.name WHERE id = OLD.id; END;
