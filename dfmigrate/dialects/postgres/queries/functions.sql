-- pg_get_functiondef() refuses aggregates, so for them the pg_aggregate fields come back
-- and the CREATE AGGREGATE text is built in Python. regproc/regoperator casts print names
-- schema-qualified exactly when search_path ('') would not find them.
SELECT p.oid, n.nspname AS ns, p.proname AS name,
       quote_ident(n.nspname) || '.' || quote_ident(p.proname) AS qualified,
       pg_get_function_identity_arguments(p.oid) AS arguments, p.prokind::text AS kind,
       CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS definition,
       CASE WHEN p.prokind <> 'p' THEN pg_get_function_result(p.oid) END AS returns,
       l.lanname AS language, d.description AS comment,
       ag.aggtransfn::text AS sfunc, format_type(ag.aggtranstype, NULL) AS stype,
       ag.aggtransspace AS sspace, nullif(ag.aggfinalfn, 0)::regproc::text AS finalfunc,
       ag.aggfinalextra AS finalfunc_extra, nullif(ag.aggcombinefn, 0)::regproc::text AS combinefunc,
       nullif(ag.aggserialfn, 0)::regproc::text AS serialfunc,
       nullif(ag.aggdeserialfn, 0)::regproc::text AS deserialfunc,
       ag.agginitval AS initcond, nullif(ag.aggsortop, 0)::regoper::text AS sortop,
       ag.aggkind::text AS aggkind, p.proparallel::text AS parallel
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
LEFT JOIN pg_aggregate ag ON p.prokind = 'a' AND ag.aggfnoid = p.oid
LEFT JOIN pg_description d ON d.classoid = 'pg_proc'::regclass AND d.objoid = p.oid AND d.objsubid = 0
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  AND NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass
                  AND e.objid = p.oid AND e.deptype = 'e')
