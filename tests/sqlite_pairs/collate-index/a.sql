CREATE TABLE city (id INTEGER PRIMARY KEY, name TEXT);
CREATE INDEX city_name ON city (name);
