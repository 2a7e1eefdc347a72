-- Internal triggers (FK enforcement) and the clones a partition gets from its parent's
-- trigger (tgparentid <> 0) are implicit.
SELECT t.tgrelid AS relid, t.tgname AS name, pg_get_triggerdef(t.oid) AS definition,
       pn.nspname AS fn_ns, p.proname AS fn_name, pg_get_function_identity_arguments(p.oid) AS fn_args,
       t.tgenabled::text AS enabled,
       (SELECT d.description FROM pg_description d WHERE d.classoid = 'pg_trigger'::regclass
           AND d.objoid = t.oid AND d.objsubid = 0) AS comment
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_namespace pn ON pn.oid = p.pronamespace
WHERE NOT t.tgisinternal AND t.tgparentid = 0
  AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  AND NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                  AND e.objid = c.oid AND e.deptype = 'e')
