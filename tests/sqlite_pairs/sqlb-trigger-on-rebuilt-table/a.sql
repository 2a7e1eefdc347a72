CREATE TABLE post (id INTEGER PRIMARY KEY, body TEXT, updated INTEGER);
CREATE TRIGGER post_touch AFTER UPDATE OF body ON post BEGIN UPDATE post SET updated = strftime('%s','now') WHERE id = NEW.id; END;
INSERT INTO post (body, updated) VALUES ('a', 1), ('b', 2);
