CREATE TABLE prod (id INTEGER PRIMARY KEY, price REAL CHECK (price >= 0), stock INTEGER CHECK (stock >= 0), CHECK (price < 100000));
INSERT INTO prod (price, stock) VALUES (1.5, 0), (99, 3);
