CREATE TABLE ticket (id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT NOT NULL DEFAULT '(none)');
INSERT INTO ticket (subject) VALUES ('a'), ('b'), ('c'), ('d');
DELETE FROM ticket WHERE id >= 3;
