CREATE TABLE pt (x REAL, y REAL);
CREATE VIEW pt_v (px, py) AS SELECT x, y FROM pt;
