CREATE TABLE line (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL, unit_price REAL NOT NULL, total REAL AS (qty * unit_price));
INSERT INTO line (qty, unit_price) VALUES (2, 1.5), (10, 0.25);
