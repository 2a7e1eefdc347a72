CREATE TABLE post (id INTEGER PRIMARY KEY, slug TEXT, title TEXT);
CREATE INDEX post_slug_idx ON post (slug);
