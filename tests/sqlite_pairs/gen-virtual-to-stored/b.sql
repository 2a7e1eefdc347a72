CREATE TABLE line_item (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL, unit_price REAL NOT NULL,
  total REAL GENERATED ALWAYS AS (qty * unit_price) STORED);
INSERT INTO line_item (qty, unit_price) VALUES (2, 1.5);
