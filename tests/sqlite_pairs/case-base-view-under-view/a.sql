CREATE TABLE reading (id INTEGER PRIMARY KEY, v REAL);
CREATE VIEW positive AS SELECT * FROM reading WHERE v > 0;
CREATE VIEW positive_count AS SELECT count(*) AS n FROM positive;
