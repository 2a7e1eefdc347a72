-- Indexes of tables and materialized views, one row each, parts aggregated in key order.
-- Implicit ones are skipped: the index behind a PK/UNIQUE/EXCLUDE constraint (conindid) and a
-- partition's index attached to its parent's (relispartition).
-- indoption bit 1 = DESC, bit 2 = NULLS FIRST; indclass/indoption/indcollation cover key
-- columns only (the first indnkeyatts), the rest are INCLUDE columns.
-- Written as set-based joins over a materialized index list (not a LATERAL per index, not
-- correlated NOT EXISTS): catalogs are rarely ANALYZEd, and with bad estimates those plans
-- took 2 s on 2,000 tables instead of ~60 ms.
WITH idx AS MATERIALIZED (
  SELECT i.indexrelid, i.indrelid, i.indnkeyatts, i.indkey, i.indoption, i.indclass, i.indcollation,
         i.indisunique, i.indpred, {nulls_not_distinct} AS nulls_not_distinct
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'm')
    AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
    AND i.indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE contype IN ('p', 'u', 'x'))
    AND c.oid NOT IN (SELECT objid FROM pg_depend WHERE classid = 'pg_class'::regclass AND deptype = 'e')
), part AS (
  SELECT idx.indexrelid, k.o, a.attname AS column_name,
         CASE WHEN k.n = 0 THEN pg_get_indexdef(idx.indexrelid, k.o::int, true) END AS expr,
         coalesce(idx.indoption[k.o - 1] & 1 = 1, false) AS descending,
         coalesce(idx.indoption[k.o - 1] & 2 = 2, false) AS nulls_first,
         CASE WHEN NOT opc.opcdefault THEN
           CASE WHEN opc.opcnamespace = 'pg_catalog'::regnamespace THEN quote_ident(opc.opcname)
                ELSE quote_ident(opn.nspname) || '.' || quote_ident(opc.opcname) END
         END AS opclass,
         CASE WHEN co.oid <> coalesce(a.attcollation, it.typcollation)
              THEN quote_ident(con.nspname) || '.' || quote_ident(co.collname) END AS collation_name
  FROM idx
  CROSS JOIN unnest(idx.indkey::int2[]) WITH ORDINALITY k(n, o)
  LEFT JOIN pg_attribute a ON a.attrelid = idx.indrelid AND a.attnum = k.n AND k.n <> 0
  LEFT JOIN pg_attribute ia ON k.n = 0 AND ia.attrelid = idx.indexrelid AND ia.attnum = k.o
  LEFT JOIN pg_type it ON it.oid = ia.atttypid
  LEFT JOIN pg_opclass opc ON k.o <= idx.indnkeyatts AND opc.oid = idx.indclass[k.o - 1]
  LEFT JOIN pg_namespace opn ON opn.oid = opc.opcnamespace
  LEFT JOIN pg_collation co ON k.o <= idx.indnkeyatts AND co.oid = idx.indcollation[k.o - 1]
  LEFT JOIN pg_namespace con ON con.oid = co.collnamespace
), parts AS (
  SELECT indexrelid,
         array_agg(column_name ORDER BY o) AS columns, array_agg(expr ORDER BY o) AS exprs,
         array_agg(descending ORDER BY o) AS descending, array_agg(nulls_first ORDER BY o) AS nulls_first,
         array_agg(opclass ORDER BY o) AS opclasses, array_agg(collation_name ORDER BY o) AS collations
  FROM part
  GROUP BY indexrelid
)
SELECT idx.indrelid AS relid, ic.relname AS name, idx.indisunique AS "unique", am.amname AS method,
       pg_get_expr(idx.indpred, idx.indrelid) AS "where", ic.reloptions AS options,
       coalesce(idx.nulls_not_distinct, false) AS nulls_not_distinct, idx.indnkeyatts AS nkey,
       parts.columns, parts.exprs, parts.descending, parts.nulls_first, parts.opclasses, parts.collations,
       d.description AS comment
FROM idx
JOIN parts ON parts.indexrelid = idx.indexrelid
JOIN pg_class ic ON ic.oid = idx.indexrelid
LEFT JOIN pg_description d ON d.classoid = 'pg_class'::regclass AND d.objoid = idx.indexrelid AND d.objsubid = 0
JOIN pg_am am ON am.oid = ic.relam
WHERE NOT ic.relispartition
