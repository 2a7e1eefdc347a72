CREATE TABLE enrollment (student INTEGER NOT NULL, course INTEGER NOT NULL, PRIMARY KEY (student, course));
