CREATE TABLE reading (id INTEGER PRIMARY KEY, v REAL);
CREATE VIEW Positive AS SELECT * FROM reading WHERE v > 0;
CREATE VIEW positive_count AS SELECT count(*) AS n FROM Positive;
