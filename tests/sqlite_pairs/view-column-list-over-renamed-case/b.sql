CREATE TABLE Metric (ts TEXT, val REAL);
CREATE VIEW metric_v (t, v) AS SELECT ts, val FROM Metric;
