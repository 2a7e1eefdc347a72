CREATE TABLE calc (a, b, s AS (a + b));
INSERT INTO calc (a, b) VALUES (1, 2);
