CREATE TABLE score2 (player TEXT, pts INTEGER);
CREATE VIEW ranking AS WITH t AS (SELECT player, sum(pts) AS total FROM score2 GROUP BY player)
SELECT player, total, rank() OVER (ORDER BY total DESC) AS pos FROM t;
