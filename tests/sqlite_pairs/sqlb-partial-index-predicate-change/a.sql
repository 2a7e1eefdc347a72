CREATE TABLE job (id INTEGER PRIMARY KEY, state TEXT NOT NULL DEFAULT 'queued', run_at INTEGER);
CREATE INDEX job_pending ON job (run_at) WHERE state = 'queued';
INSERT INTO job (state, run_at) VALUES ('queued', 100), ('done', 50), ('retry', 200);
