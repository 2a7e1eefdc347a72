CREATE TABLE grade (student INTEGER NOT NULL, course TEXT NOT NULL, mark INTEGER, PRIMARY KEY (student, course));
INSERT INTO grade VALUES (1, 'math', 90), (1, 'art', 75), (2, 'math', NULL);
