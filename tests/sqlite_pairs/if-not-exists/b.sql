CREATE TABLE IF NOT EXISTS migration_log (id INTEGER PRIMARY KEY, name TEXT, applied TEXT);
CREATE INDEX IF NOT EXISTS migration_log_name ON migration_log (name);
CREATE VIEW IF NOT EXISTS recent_migrations AS SELECT name FROM migration_log ORDER BY id DESC LIMIT 10;
