CREATE TABLE sale (id INTEGER PRIMARY KEY, region TEXT, amount REAL);
CREATE VIEW sale_by_region AS SELECT region, sum(amount) AS total FROM sale GROUP BY region;
CREATE VIEW top_region AS SELECT region FROM sale_by_region ORDER BY total DESC LIMIT 1;
