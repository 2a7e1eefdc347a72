CREATE TABLE stock (id INTEGER PRIMARY KEY, qty INTEGER CONSTRAINT qty_non_negative CHECK (qty >= 0));
