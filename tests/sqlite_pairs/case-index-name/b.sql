CREATE TABLE post (id INTEGER PRIMARY KEY, slug TEXT, title TEXT);
CREATE INDEX Post_Slug_Idx ON post (slug);
