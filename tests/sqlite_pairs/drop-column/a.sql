CREATE TABLE profile (id INTEGER PRIMARY KEY, bio TEXT, legacy_flag INTEGER);
INSERT INTO profile VALUES (1, 'hi', 0);
