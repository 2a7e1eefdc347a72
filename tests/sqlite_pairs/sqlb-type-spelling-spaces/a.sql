CREATE TABLE money (id INTEGER PRIMARY KEY, amount numeric(10,2), label varchar(20));
INSERT INTO money (amount, label) VALUES (1.25, 'x'), (100, 'y');
