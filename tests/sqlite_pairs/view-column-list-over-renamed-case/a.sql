CREATE TABLE metric (ts TEXT, val REAL);
CREATE VIEW metric_v (t, v) AS SELECT ts, val FROM metric;
