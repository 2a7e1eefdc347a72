CREATE TABLE score2 (player TEXT NOT NULL, pts INTEGER NOT NULL DEFAULT 0);
CREATE VIEW ranking AS WITH t AS (SELECT player, sum(pts) AS total FROM score2 GROUP BY player)
SELECT player, total, dense_rank() OVER (ORDER BY total DESC) AS pos FROM t;
