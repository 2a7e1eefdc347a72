-- Tables, partitioned tables, views and materialized views. Parents come in inhseqno order:
-- for a partition that is its one parent, for an inheritance child its INHERITS list.
SELECT c.oid, n.nspname AS ns, c.relname AS name, c.relkind::text AS kind,
       c.relpersistence = 'u' AS unlogged, c.relispartition AS is_partition,
       c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced,
       c.reloptions AS options, c.relispopulated AS populated,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_by,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS definition,
       (SELECT array_agg(pn.nspname || '.' || p.relname ORDER BY i.inhseqno)
          FROM pg_inherits i
          JOIN pg_class p ON p.oid = i.inhparent
          JOIN pg_namespace pn ON pn.oid = p.relnamespace
         WHERE i.inhrelid = c.oid) AS parents,
       d.description AS comment,
       CASE c.relreplident WHEN 'f' THEN 'full' WHEN 'n' THEN 'nothing'
            WHEN 'i' THEN (SELECT 'index:' || ic.relname FROM pg_index ri JOIN pg_class ic ON ic.oid = ri.indexrelid
                            WHERE ri.indrelid = c.oid AND ri.indisreplident)
            ELSE 'default' END AS replica_identity
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_description d ON d.classoid = 'pg_class'::regclass AND d.objoid = c.oid AND d.objsubid = 0
WHERE c.relkind IN ('r', 'p', 'v', 'm')
  AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  AND NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                  AND e.objid = c.oid AND e.deptype = 'e')
