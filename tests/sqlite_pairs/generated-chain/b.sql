CREATE TABLE price (id INTEGER PRIMARY KEY, net REAL NOT NULL, vat REAL AS (net * 0.2), gross REAL AS (net + vat) STORED);
INSERT INTO price (net) VALUES (10);
