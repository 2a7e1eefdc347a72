CREATE TABLE track (
  trackid INTEGER PRIMARY KEY,
  name TEXT,
  milliseconds INTEGER,
  CHECK (trackid > 0)
);
INSERT INTO track VALUES (1, 'One', 1000);
