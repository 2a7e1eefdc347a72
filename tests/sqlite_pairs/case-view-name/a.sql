CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, price REAL);
CREATE VIEW cheap_items AS SELECT id, name FROM item WHERE price < 10;
