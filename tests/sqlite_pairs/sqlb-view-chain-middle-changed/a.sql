CREATE TABLE emp (id INTEGER PRIMARY KEY, name TEXT, salary INTEGER, dept TEXT);
CREATE VIEW emp_pub AS SELECT id, name, dept FROM emp;
CREATE VIEW dept_count AS SELECT dept, count(*) AS n FROM emp_pub GROUP BY dept;
INSERT INTO emp (name, salary, dept) VALUES ('a', 10, 'x'), ('b', 0, 'y');
