CREATE TABLE msg (id INTEGER PRIMARY KEY, body TEXT, deleted INTEGER DEFAULT 0);
CREATE INDEX msg_live ON msg (id) WHERE deleted = 0;
INSERT INTO msg (body) VALUES ('x');
