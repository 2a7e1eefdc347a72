CREATE TABLE cm (
  id INTEGER PRIMARY KEY, -- the key
  v  TEXT /* value */ CHECK (v <> '')
);
CREATE VIEW cm_v AS SELECT v   FROM   cm WHERE v LIKE 'a%';
INSERT INTO cm (v) VALUES ('abc');
