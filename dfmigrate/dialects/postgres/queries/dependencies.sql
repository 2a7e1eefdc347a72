-- What views, functions, domains and composite types depend on, one row per (dependent,
-- referenced object). A view's dependencies hang off its _RETURN rule in pg_rewrite (minus the
-- rule's own link to the view); functions depend on the types in their signature (and, with a
-- SQL-standard body, on the functions and tables it uses); a domain on
-- its base type; a composite type's attributes (objid = its pg_class row) on theirs.
-- Array types resolve to their element type, row types to their table or view.
WITH dep AS (
  SELECT DISTINCT 'pg_class'::regclass AS classid, r.ev_class AS objid, d.refclassid, d.refobjid
  FROM pg_depend d
  JOIN pg_rewrite r ON r.oid = d.objid
  WHERE d.classid = 'pg_rewrite'::regclass AND d.deptype = 'n' AND d.refobjid <> r.ev_class
  UNION
  SELECT d.classid, d.objid, d.refclassid, d.refobjid
  FROM pg_depend d
  WHERE d.classid IN ('pg_proc'::regclass, 'pg_type'::regclass, 'pg_class'::regclass)
    AND d.refclassid = 'pg_type'::regclass AND d.deptype = 'n'
  UNION
  -- a SQL-standard body (RETURN expr, BEGIN ATOMIC) is parsed at creation: PostgreSQL records
  -- the functions and tables it uses, and refuses to drop them first
  SELECT d.classid, d.objid, d.refclassid, d.refobjid
  FROM pg_depend d
  WHERE d.classid = 'pg_proc'::regclass AND d.refclassid IN ('pg_proc'::regclass, 'pg_class'::regclass)
    AND d.deptype = 'n' AND NOT (d.refclassid = 'pg_proc'::regclass AND d.refobjid = d.objid)
), ref AS (
  SELECT dep.classid, dep.objid,
         CASE dep.refclassid WHEN 'pg_class'::regclass THEN dep.refobjid END AS rel,
         CASE dep.refclassid WHEN 'pg_proc'::regclass THEN dep.refobjid END AS proc,
         CASE WHEN dep.refclassid = 'pg_type'::regclass THEN coalesce(el.oid, rt.oid) END AS typ
  FROM dep
  LEFT JOIN pg_type rt ON dep.refclassid = 'pg_type'::regclass AND rt.oid = dep.refobjid
  LEFT JOIN pg_type el ON el.oid = rt.typelem AND el.typarray = rt.oid
), resolved AS (
  SELECT ref.classid, ref.objid, ref.proc,
         coalesce(ref.rel, nullif(t.typrelid, 0)) AS rel,
         CASE WHEN t.typrelid = 0 OR tc.relkind = 'c' THEN t.oid END AS typ
  FROM ref
  LEFT JOIN pg_type t ON t.oid = ref.typ
  LEFT JOIN pg_class tc ON tc.oid = t.typrelid
)
SELECT DISTINCT r.classid::regclass::text AS dep_class, r.objid AS dep_oid,
       CASE WHEN r.proc IS NOT NULL THEN 'function'
            WHEN c.relkind IN ('r', 'p', 'f') THEN 'table'
            WHEN c.relkind IN ('v', 'm') THEN 'view'
            WHEN c.relkind = 'S' THEN 'sequence'
            ELSE 'type' END AS ref_kind,
       n.nspname AS ref_ns,
       coalesce(p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
                t.typname, c.relname) AS ref_name
FROM resolved r
LEFT JOIN pg_proc p ON p.oid = r.proc
LEFT JOIN pg_type t ON t.oid = r.typ
LEFT JOIN pg_class c ON r.typ IS NULL AND c.oid = r.rel
JOIN pg_namespace n ON n.oid = coalesce(p.pronamespace, t.typnamespace, c.relnamespace)
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  AND (r.classid <> 'pg_class'::regclass OR r.objid <> coalesce(r.rel, 0))
  AND NOT EXISTS (SELECT FROM pg_depend e
                  WHERE e.classid = CASE WHEN p.oid IS NOT NULL THEN 'pg_proc'::regclass
                                         WHEN t.oid IS NOT NULL THEN 'pg_type'::regclass
                                         ELSE 'pg_class'::regclass END
                    AND e.objid = coalesce(p.oid, t.oid, c.oid) AND e.deptype = 'e')
