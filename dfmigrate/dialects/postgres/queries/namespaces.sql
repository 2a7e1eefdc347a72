-- User namespaces ("public" included). Names starting with pg_ are reserved for the system
-- (pg_catalog, pg_toast, pg_temp_N, pg_toast_temp_N), so one regex excludes them all.
SELECT n.oid, n.nspname AS name,
       (SELECT d.description FROM pg_description d WHERE d.classoid = 'pg_namespace'::regclass
           AND d.objoid = n.oid AND d.objsubid = 0) AS comment
FROM pg_namespace n
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
