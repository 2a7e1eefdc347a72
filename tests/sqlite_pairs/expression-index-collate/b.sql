CREATE TABLE song (id INTEGER PRIMARY KEY, title TEXT, artist TEXT);
CREATE INDEX song_title ON song (trim(title) COLLATE NOCASE, artist COLLATE RTRIM DESC);
