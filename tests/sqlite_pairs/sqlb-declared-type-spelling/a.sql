-- A rebuild writes the declared type as the target spells it: ORMs parse it (ActiveRecord
-- reads no scale from NUMERIC(10, 2)).
CREATE TABLE money (id INTEGER PRIMARY KEY, amount numeric(10,2), label varchar(20));
INSERT INTO money (amount, label) VALUES (1.25, 'x'), (100, 'y');
