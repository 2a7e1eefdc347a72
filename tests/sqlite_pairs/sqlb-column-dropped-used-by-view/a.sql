CREATE TABLE pr (id INTEGER PRIMARY KEY, name TEXT, old_flag INTEGER);
CREATE VIEW pr_v AS SELECT id, name, old_flag FROM pr;
INSERT INTO pr (name) VALUES ('n');
