CREATE TABLE t (a INTEGER, b INTEGER AS (a * 2), c TEXT AS (upper('x' || a)));
INSERT INTO t (a) VALUES (1), (2);
