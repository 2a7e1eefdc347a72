CREATE TABLE score (id INTEGER PRIMARY KEY, game TEXT NOT NULL, points INTEGER NOT NULL, at INTEGER NOT NULL);
CREATE INDEX score_board ON score (game, points, at DESC);
INSERT INTO score (game, points, at) VALUES ('tetris', 900, 1), ('tetris', 1200, 2), ('snake', 40, 3);
