CREATE TABLE prod (id INTEGER PRIMARY KEY, price REAL CONSTRAINT price_ok CHECK (price >= 0), stock INTEGER CHECK (stock >= 0), sku TEXT NOT NULL DEFAULT 'n/a', CHECK (price < 100000));
INSERT INTO prod (price, stock) VALUES (1.5, 0), (99, 3);
