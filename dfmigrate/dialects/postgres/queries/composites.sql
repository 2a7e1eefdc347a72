-- Stand-alone composite types only: every table and view also has a row type (typrelid's
-- relkind is then r/p/v/m/f), which is implicit.
SELECT t.typrelid AS relid, n.nspname AS ns, t.typname AS name
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
WHERE t.typtype = 'c'
  AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  AND NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_type'::regclass
                  AND e.objid = t.oid AND e.deptype = 'e')
