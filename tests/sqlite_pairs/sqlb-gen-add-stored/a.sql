CREATE TABLE person (id INTEGER PRIMARY KEY, first TEXT NOT NULL, last TEXT NOT NULL);
INSERT INTO person (first, last) VALUES ('Grace', 'Hopper'), ('Edsger', 'Dijkstra');
