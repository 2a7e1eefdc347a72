CREATE TABLE pt (x REAL, y REAL, z REAL);
CREATE VIEW pt_v (px, py, pz) AS SELECT x, y, z FROM pt;
