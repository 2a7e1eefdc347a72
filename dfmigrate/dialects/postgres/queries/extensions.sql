-- plpgsql is installed in every database by initdb; listing it would make every model-vs-DB
-- diff want to drop it.
SELECT e.extname AS name, n.nspname AS ns, e.extversion AS version
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname <> 'plpgsql'
