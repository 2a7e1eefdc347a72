CREATE TABLE Users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
INSERT INTO Users (email) VALUES ('a@x.io'), ('b@x.io');
