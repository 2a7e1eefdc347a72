CREATE TABLE person (id INTEGER PRIMARY KEY, first TEXT NOT NULL, last TEXT NOT NULL, full_name TEXT GENERATED ALWAYS AS (first || ' ' || last) STORED);
CREATE INDEX person_full_name ON person (full_name);
INSERT INTO person (first, last) VALUES ('Grace', 'Hopper'), ('Edsger', 'Dijkstra');
