CREATE TABLE ticket (id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT);
INSERT INTO ticket (subject) VALUES ('a'), ('b'), ('c'), ('d');
DELETE FROM ticket WHERE id >= 3;
