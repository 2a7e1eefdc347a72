CREATE TABLE payment (id INTEGER PRIMARY KEY, Method TEXT, cents INTEGER);
CREATE INDEX payment_method ON payment (Method);
INSERT INTO payment VALUES (1, 'card', 100);
