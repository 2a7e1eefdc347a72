CREATE TABLE price (id INTEGER PRIMARY KEY, cents TEXT, dollars REAL AS (cents / 100.0) STORED);
INSERT INTO price (cents) VALUES ('199'), ('2500');
