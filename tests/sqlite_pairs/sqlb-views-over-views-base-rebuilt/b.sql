CREATE TABLE sale (id INTEGER PRIMARY KEY, region TEXT NOT NULL, amount REAL);
CREATE VIEW sale_clean AS SELECT id, region, CAST(amount AS REAL) AS amount FROM sale;
CREATE VIEW sale_by_region AS SELECT region, sum(amount) AS total FROM sale_clean GROUP BY region;
INSERT INTO sale (region, amount) VALUES ('north', '10.5'), ('south', '3.25');
