CREATE TABLE visit (id INTEGER PRIMARY KEY, path TEXT, referrer TEXT);
CREATE INDEX visit_referrer ON visit (referrer);
INSERT INTO visit VALUES (1, '/', NULL);
