-- Columns of tables, views and stand-alone composite types, in attnum order. Inherited
-- columns (attislocal = false) are implicit. An identity column's options come from its
-- identity sequence (internal dependency 'i' on the column). The generation expression of a
-- STORED generated column lives in pg_attrdef like a default. Identity sequences are joined
-- as a set (there are few) rather than probed per column.
SELECT a.attrelid AS relid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
       NOT a.attnotnull AS nullable, pg_get_expr(ad.adbin, ad.adrelid) AS expr,
       a.attgenerated = 's' AS generated, a.attidentity::text AS identity,
       CASE WHEN a.attcollation <> t.typcollation
            THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END AS collation,
       d.description AS comment,
       format_type(s.seqtypid, NULL) AS seq_type, s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
       s.seqcache, s.seqcycle
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> t.typcollation
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_description d
       ON d.classoid = 'pg_class'::regclass AND d.objoid = a.attrelid AND d.objsubid = a.attnum
LEFT JOIN (SELECT d.refobjid, d.refobjsubid, s.*
           FROM pg_sequence s
           JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
                           AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'i') s
       ON s.refobjid = a.attrelid AND s.refobjsubid = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attislocal AND a.attinhcount = 0
  AND c.relkind IN ('r', 'p', 'v', 'm', 'c')
  AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  AND NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                  AND e.objid = c.oid AND e.deptype = 'e')
ORDER BY a.attrelid, a.attnum
