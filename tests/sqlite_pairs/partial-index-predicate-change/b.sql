CREATE TABLE job (id INTEGER PRIMARY KEY, state TEXT, run_at TEXT);
CREATE INDEX job_pending ON job (run_at) WHERE state IN ('pending', 'retry');
