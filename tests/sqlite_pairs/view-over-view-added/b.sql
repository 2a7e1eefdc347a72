CREATE TABLE employee (id INTEGER PRIMARY KEY, name TEXT, manager_id INTEGER REFERENCES employee (id));
CREATE VIEW managers AS SELECT DISTINCT m.* FROM employee m JOIN employee e ON e.manager_id = m.id;
CREATE VIEW manager_names AS SELECT name FROM managers;
