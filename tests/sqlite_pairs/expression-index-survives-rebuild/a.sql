CREATE TABLE article (id INTEGER PRIMARY KEY, title TEXT, body TEXT);
CREATE INDEX article_title_lower ON article (lower(title)) WHERE title IS NOT NULL;
INSERT INTO article (title, body) VALUES ('Hi', 'x');
