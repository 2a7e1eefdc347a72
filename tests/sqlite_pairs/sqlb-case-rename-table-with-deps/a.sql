CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE note (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id) ON DELETE CASCADE, txt TEXT);
CREATE INDEX users_name ON users (name);
CREATE VIEW user_names AS SELECT name FROM users;
INSERT INTO users (name) VALUES ('a'), ('b');
INSERT INTO note (user_id, txt) VALUES (1, 'x'), (2, 'y');
