CREATE TABLE orderline (id INTEGER PRIMARY KEY, sku TEXT, qty INTEGER);
CREATE INDEX orderline_sku ON orderline (sku);
INSERT INTO orderline VALUES (1, 'a', 2);
