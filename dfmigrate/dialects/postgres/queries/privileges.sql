-- Explicit grants only: entries that acldefault() would give anyway (the owner's own
-- privileges, PUBLIC EXECUTE on functions) are implicit. Grantee oid 0 is PUBLIC.
WITH acl AS (
  SELECT 'relation' AS kind, c.oid, c.relowner AS owner, c.relacl AS acl,
         CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char" AS objtype
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relacl IS NOT NULL AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
    AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  UNION ALL
  SELECT 'function', p.oid, p.proowner, p.proacl, 'f'
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE p.proacl IS NOT NULL AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  UNION ALL
  SELECT 'namespace', n.oid, n.nspowner, n.nspacl, 'n'
  FROM pg_namespace n
  WHERE n.nspacl IS NOT NULL AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
)
SELECT acl.kind, acl.oid,
       CASE WHEN x.grantee = 0 THEN 'public' ELSE pg_get_userbyid(x.grantee)::text END AS grantee,
       x.privilege_type AS privilege, x.is_grantable AS grantable
FROM acl
CROSS JOIN LATERAL aclexplode(acl.acl) x
WHERE NOT EXISTS (SELECT FROM aclexplode(acldefault(acl.objtype, acl.owner)) dflt
                  WHERE dflt.grantee = x.grantee AND dflt.privilege_type = x.privilege_type
                    AND dflt.is_grantable = x.is_grantable)
