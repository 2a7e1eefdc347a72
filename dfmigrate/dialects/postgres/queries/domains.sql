-- typdefault is text frozen at creation time under that session's search_path;
-- pg_get_expr(typdefaultbin) prints it under ours (''), like every other expression.
SELECT t.oid, n.nspname AS ns, t.typname AS name,
       format_type(t.typbasetype, t.typtypmod) AS base_type,
       NOT t.typnotnull AS nullable,
       pg_get_expr(t.typdefaultbin, 0) AS "default",
       CASE WHEN t.typcollation <> bt.typcollation
            THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END AS collation
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_collation co ON co.oid = t.typcollation
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
WHERE t.typtype = 'd'
  AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  AND NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_type'::regclass
                  AND e.objid = t.oid AND e.deptype = 'e')
