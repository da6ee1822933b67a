-- Queries of `nfsync db init`, `db check`, `db migrate` and `db status` (workers/db/schema.py, workers/db/migrate.py).

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
ORDER BY version DESC
LIMIT 1;

-- name: schema_history
-- Every recorded step, oldest first: the lowest version is the install (schema.sql), the rest are migrations.
-- Only the columns of the first release's table, so it reads a database at any version.
SELECT version, checksum, applied_at
FROM nfsync_schema_version
ORDER BY version;

-- name: schema_migration_record
INSERT INTO nfsync_schema_version (version, checksum, name, duration_ms) VALUES ($1, $2, $3, $4);

-- name: schema_session_lock
-- Held for a whole `db migrate` run (session level: migrations run in several transactions, some in none). It
-- conflicts with schema_lock, so `db init` and `db migrate` never overlap. The caller sets lock_timeout first.
SELECT pg_advisory_lock(hashtext('nfsync.schema'));

-- name: schema_session_unlock
SELECT pg_advisory_unlock(hashtext('nfsync.schema'));

-- name: schema_version_table_exists
SELECT to_regclass('public.nfsync_schema_version') IS NOT NULL;

-- name: schema_version_record
INSERT INTO nfsync_schema_version (version, checksum, name) VALUES ($1, $2, 'schema.sql');

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
-- row-level security, grants and comments: a migration must leave them exactly as schema.sql makes them
SELECT 'security', r.nspname || '.' || r.relname,
       concat_ws(' ', CASE WHEN c.relrowsecurity THEN 'rls' END, CASE WHEN c.relforcerowsecurity THEN 'forced' END,
                 (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(c.relacl) AS a))
FROM rels r JOIN pg_class c ON c.oid = r.oid
WHERE r.relkind IN ('r', 'p', 'v', 'S') AND (c.relrowsecurity OR c.relacl IS NOT NULL)
UNION ALL
SELECT 'policy', p.schemaname || '.' || p.tablename || '.' || p.policyname,
       concat_ws(' ', p.permissive, p.cmd, p.roles::text, p.qual, p.with_check)
FROM pg_policies p WHERE p.schemaname IN ('public', 'allocation')
UNION ALL
SELECT 'view', r.nspname || '.' || r.relname, md5(pg_get_viewdef(r.oid))
FROM rels r WHERE r.relkind = 'v'
UNION ALL
SELECT 'comment', r.nspname || '.' || r.relname || coalesce('.' || a.attname, ''), md5(d.description)
FROM rels r
JOIN pg_description d ON d.objoid = r.oid AND d.classoid = 'pg_class'::regclass
LEFT JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = d.objsubid AND d.objsubid > 0
UNION ALL
SELECT 'comment', n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       md5(d.description)
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_description d ON d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass
WHERE n.nspname IN ('public', 'allocation')
UNION ALL
SELECT 'extension', e.extname, '-' FROM pg_extension e WHERE e.extname <> 'plpgsql'
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
