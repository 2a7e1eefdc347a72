-- User namespaces ("public" included). Names starting with pg_ are reserved for the system
-- (pg_catalog, pg_toast, pg_temp_N, pg_toast_temp_N), so one regex excludes them all.
SELECT n.oid, n.nspname AS name
FROM pg_namespace n
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
