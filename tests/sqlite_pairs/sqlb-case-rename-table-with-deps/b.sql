CREATE TABLE Users (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE note (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES Users (id) ON DELETE CASCADE, txt TEXT);
CREATE INDEX users_name ON Users (name);
CREATE VIEW user_names AS SELECT name FROM Users;
INSERT INTO users (name) VALUES ('a'), ('b');
INSERT INTO note (user_id, txt) VALUES (1, 'x'), (2, 'y');
