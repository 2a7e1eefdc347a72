-- Table constraints (relid set) and domain constraints (typid set). Inherited ones
-- (conislocal = false) and those a partition got from its parent (conparentid <> 0) are
-- implicit. Definition text is only needed for CHECK and EXCLUDE, so only they pay for it.
-- {nulls_not_distinct} is substituted by server version (the column exists from 15).
--
-- Shaped so that no plan can be worse than linear, whatever the (rarely ANALYZEd) catalog
-- statistics say: table and domain constraints are two UNION ALL branches with plain equi-joins
-- (a join on coalesce(relnamespace, typnamespace) plus an OR filter hid the row count from the
-- planner, which then re-ran a GROUP BY once per constraint: 3-8 s at 500 tables). Key, referenced
-- and INCLUDE column numbers are unnested per constraint (LATERAL) and named by index probes into
-- pg_attribute, and the result is grouped once at the top, so there is no aggregate for a nested
-- loop to rebuild. Measured (one connection, idle-ish server): 500 tables 5-7 s -> ~50 ms,
-- 2,000 tables ~160 ms (as before).
WITH con AS (
  SELECT con.oid, con.conrelid, con.contypid, con.conname, con.contype, con.conkey, con.confrelid,
         con.confkey, con.confupdtype, con.confdeltype, con.confmatchtype, con.condeferrable,
         con.condeferred, con.convalidated, con.conindid, d.description AS comment
  FROM pg_constraint con
  JOIN pg_class c ON c.oid = con.conrelid
  LEFT JOIN pg_description d ON d.classoid = 'pg_constraint'::regclass AND d.objoid = con.oid AND d.objsubid = 0
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE con.contype IN ('p', 'u', 'f', 'c', 'x') AND con.conislocal AND con.conparentid = 0
    AND c.relkind IN ('r', 'p')
    AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
    AND NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                    AND e.objid = c.oid AND e.deptype = 'e')
  UNION ALL
  SELECT con.oid, con.conrelid, con.contypid, con.conname, con.contype, con.conkey, con.confrelid,
         con.confkey, con.confupdtype, con.confdeltype, con.confmatchtype, con.condeferrable,
         con.condeferred, con.convalidated, con.conindid, NULL::text AS comment
  FROM pg_constraint con
  JOIN pg_type t ON t.oid = con.contypid
  JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE con.contype = 'c' AND con.contypid <> 0 AND con.conislocal AND con.conparentid = 0 AND t.typtype = 'd'
    AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
    AND NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_type'::regclass
                    AND e.objid = t.oid AND e.deptype = 'e')
)
SELECT con.conrelid AS relid, con.contypid AS typid, con.conname AS name, con.contype::text AS type,
       array_agg(a.attname ORDER BY k.o) FILTER (WHERE k.side = 1) AS columns,
       fn.nspname AS ref_ns, fc.relname AS ref_table,
       array_agg(a.attname ORDER BY k.o) FILTER (WHERE k.side = 2) AS ref_columns,
       con.confupdtype::text AS on_update, con.confdeltype::text AS on_delete,
       con.confmatchtype::text AS match, con.condeferrable AS deferrable,
       con.condeferred AS deferred, con.convalidated AS validated,
       CASE WHEN con.contype IN ('c', 'x') THEN pg_get_constraintdef(con.oid, true) END AS definition,
       array_agg(a.attname ORDER BY k.o) FILTER (WHERE k.side = 3) AS include,
       coalesce(CASE WHEN con.contype = 'u' THEN {nulls_not_distinct} END, false) AS nulls_not_distinct,
       con.comment
FROM con
LEFT JOIN pg_index i ON con.contype = 'u' AND i.indexrelid = con.conindid
LEFT JOIN LATERAL (
  SELECT 1 AS side, k.o, con.conrelid AS relid, k.n FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
  UNION ALL
  SELECT 2, k.o, con.confrelid, k.n FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
  UNION ALL
  SELECT 3, k.o, con.conrelid, k.n FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
  WHERE k.o > i.indnkeyatts
) k ON true
LEFT JOIN pg_attribute a ON a.attrelid = k.relid AND a.attnum = k.n
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
GROUP BY con.oid, con.conrelid, con.contypid, con.conname, con.contype, con.confupdtype, con.confdeltype,
         con.confmatchtype, con.condeferrable, con.condeferred, con.convalidated, fn.nspname, fc.relname,
         {nulls_not_distinct}, con.comment
