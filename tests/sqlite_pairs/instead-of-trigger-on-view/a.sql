CREATE TABLE person_t (id INTEGER PRIMARY KEY, name TEXT);
CREATE VIEW person_v AS SELECT id, name FROM person_t;
