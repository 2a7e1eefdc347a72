CREATE TABLE slug (id INTEGER PRIMARY KEY, site INTEGER NOT NULL, slug TEXT NOT NULL, UNIQUE (site, slug));
INSERT INTO slug (site, slug) VALUES (1, 'home'), (1, 'about'), (2, 'home');
