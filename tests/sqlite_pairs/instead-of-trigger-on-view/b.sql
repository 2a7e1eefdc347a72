CREATE TABLE person_t (id INTEGER PRIMARY KEY, name TEXT);
CREATE VIEW person_v AS SELECT id, name FROM person_t;
CREATE TRIGGER person_v_insert INSTEAD OF INSERT ON person_v
BEGIN INSERT INTO person_t (name) VALUES (NEW.name); END;
