CREATE TABLE current_t (id INTEGER PRIMARY KEY, x TEXT);
CREATE VIEW everything AS SELECT x FROM current_t;
