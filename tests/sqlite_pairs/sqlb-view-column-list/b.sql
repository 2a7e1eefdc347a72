CREATE TABLE pt (x REAL, y REAL);
CREATE VIEW pt_v (px, py, dist) AS SELECT x, y, sqrt(x*x + y*y) FROM pt;
INSERT INTO pt VALUES (3, 4);
