CREATE TABLE slug (id INTEGER PRIMARY KEY, site INTEGER NOT NULL, slug TEXT NOT NULL);
CREATE UNIQUE INDEX slug_site_slug ON slug (site, slug);
INSERT INTO slug (site, slug) VALUES (1, 'home'), (1, 'about'), (2, 'home');
