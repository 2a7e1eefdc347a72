CREATE TABLE money (id INTEGER PRIMARY KEY, amount numeric(10,2) NOT NULL DEFAULT 0, label varchar( 40 ), note unsigned big int);
INSERT INTO money (amount, label) VALUES (1.25, 'x'), (100, 'y');
