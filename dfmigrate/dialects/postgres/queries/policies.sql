-- Role oid 0 in polroles means PUBLIC.
SELECT pol.polrelid AS relid, pol.polname AS name, pol.polpermissive AS permissive,
       pol.polcmd::text AS command,
       (SELECT array_agg(CASE WHEN r.oid = 0 THEN 'public' ELSE pg_get_userbyid(r.oid)::text END
                         ORDER BY 1)
          FROM unnest(pol.polroles) r(oid)) AS roles,
       pg_get_expr(pol.polqual, pol.polrelid) AS using,
       pg_get_expr(pol.polwithcheck, pol.polrelid) AS with_check,
       (SELECT d.description FROM pg_description d WHERE d.classoid = 'pg_policy'::regclass
           AND d.objoid = pol.oid AND d.objsubid = 0) AS comment
FROM pg_policy pol
JOIN pg_class c ON c.oid = pol.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  AND NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                  AND e.objid = c.oid AND e.deptype = 'e')
