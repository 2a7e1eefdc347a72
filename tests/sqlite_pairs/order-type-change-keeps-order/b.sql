CREATE TABLE measurement (id INTEGER PRIMARY KEY, station TEXT, value REAL, taken TEXT);
