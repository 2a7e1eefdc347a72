-- to_jsonb(c) reads the ICU/builtin locale column whatever this server version calls it
-- (colliculocale on 15-16, colllocale from 17).
SELECT n.nspname AS ns, c.collname AS name, c.collprovider::text AS provider,
       coalesce(to_jsonb(c) ->> 'colllocale', to_jsonb(c) ->> 'colliculocale') AS locale,
       c.collcollate AS lc_collate, c.collctype AS lc_ctype, c.collisdeterministic AS deterministic
FROM pg_collation c
JOIN pg_namespace n ON n.oid = c.collnamespace
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  AND NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_collation'::regclass
                  AND e.objid = c.oid AND e.deptype = 'e')
