CREATE TABLE enrollment (student INTEGER NOT NULL, course INTEGER NOT NULL, term TEXT NOT NULL DEFAULT '2024', PRIMARY KEY (student, course, term));
