CREATE TABLE base_t (id INTEGER PRIMARY KEY, active INTEGER);
CREATE VIEW active_t AS SELECT id FROM base_t WHERE active = 1;
