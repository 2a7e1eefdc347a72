CREATE TABLE Payment (id INTEGER PRIMARY KEY, method TEXT, cents INTEGER);
CREATE INDEX payment_method ON Payment (method);
INSERT INTO Payment VALUES (1, 'card', 100);
