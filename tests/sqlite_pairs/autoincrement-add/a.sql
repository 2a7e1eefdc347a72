CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT);
INSERT INTO audit (what) VALUES ('boot');
