CREATE TABLE measurement (id INTEGER PRIMARY KEY, station TEXT, value TEXT, taken TEXT);
