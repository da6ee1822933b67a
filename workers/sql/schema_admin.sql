-- Queries of `nfsync db init` and `nfsync db check` (workers/db/schema.py).

-- name: database_exists
SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1::text);

-- name: create_database_statement
-- CREATE DATABASE takes no parameters: PostgreSQL quotes the name, the caller executes the result.
SELECT format('CREATE DATABASE %I', $1::text);

-- name: drop_database_statement
SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', $1::text);

-- name: schema_lock
SELECT pg_advisory_xact_lock(hashtext('nfsync.schema'));

-- name: schema_version_current
SELECT version, checksum
FROM nfsync_schema_version
WHERE to_regclass('public.nfsync_schema_version') IS NOT NULL
ORDER BY applied_at DESC
LIMIT 1;

-- name: schema_version_table_exists
SELECT to_regclass('public.nfsync_schema_version') IS NOT NULL;

-- name: schema_version_record
INSERT INTO nfsync_schema_version (version, checksum) VALUES ($1, $2);

-- name: user_relation_count
SELECT count(*)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('public', 'allocation') AND c.relkind IN ('r', 'p', 'v', 'm');

-- name: describe_catalog
-- One row per schema object: (kind, name, definition). Monthly sync_logs partitions are left out: they are
-- created at run time and differ by month.
WITH rels AS (
    SELECT c.oid, n.nspname, c.relname, c.relkind
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname IN ('public', 'allocation')
      AND c.relkind IN ('r', 'p', 'v', 'S', 'i', 'I')
      AND c.relname !~ '^sync_logs_[0-9]{6}'
      AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = c.oid AND e.deptype = 'e')
)
SELECT 'relation' AS kind, r.nspname || '.' || r.relname AS name, r.relkind::text AS definition
FROM rels r WHERE r.relkind IN ('r', 'p', 'v', 'S')
UNION ALL
SELECT 'column', r.nspname || '.' || r.relname || '.' || a.attname,
       format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
       || CASE WHEN a.attgenerated = 's' THEN ' GENERATED ' ELSE ' DEFAULT ' END
       || coalesce(pg_get_expr(d.adbin, d.adrelid), '-')
FROM rels r
JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = r.oid AND d.adnum = a.attnum
WHERE r.relkind IN ('r', 'p', 'v')
UNION ALL
SELECT 'index', r.nspname || '.' || r.relname, pg_get_indexdef(r.oid)
FROM rels r WHERE r.relkind IN ('i', 'I')
UNION ALL
SELECT 'constraint', r.nspname || '.' || r.relname || '.' || con.conname, pg_get_constraintdef(con.oid)
FROM rels r JOIN pg_constraint con ON con.conrelid = r.oid
UNION ALL
SELECT 'trigger', r.nspname || '.' || r.relname || '.' || t.tgname, pg_get_triggerdef(t.oid)
FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
UNION ALL
SELECT 'function', n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       -- an aggregate has no function definition: its parts (state and final functions, state type, initial state)
       CASE WHEN p.prokind = 'a'
            THEN (SELECT md5(concat_ws(' ', g.aggtransfn::regproc, g.aggfinalfn::regproc, g.aggtranstype::regtype,
                                       g.agginitval))
                  FROM pg_aggregate g WHERE g.aggfnoid = p.oid)
            ELSE md5(pg_get_functiondef(p.oid)) END
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname IN ('public', 'allocation')
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = p.oid AND e.deptype = 'e')
ORDER BY 1, 2;
