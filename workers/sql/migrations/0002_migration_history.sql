-- Migration 2: nfsync_schema_version becomes the migration history (`nfsync db migrate`, workers/db/migrate.py).
-- Each step now records which file it came from and how long it took; the install row is named 'schema.sql'.
-- Locks: ACCESS EXCLUSIVE on nfsync_schema_version only (a handful of rows, read at process start).

ALTER TABLE nfsync_schema_version
    ADD COLUMN name        text,
    ADD COLUMN duration_ms integer;

UPDATE nfsync_schema_version SET name = 'schema.sql' WHERE name IS NULL;

COMMENT ON TABLE nfsync_schema_version IS
    'nfsync: the schema history - the schema.sql version a database was installed from (its lowest version), then '
    'one row per migration applied by `nfsync db migrate`.';
COMMENT ON COLUMN nfsync_schema_version.version IS
    'Schema version after this step: schema.sql''s first line, or the migration''s number.';
COMMENT ON COLUMN nfsync_schema_version.checksum IS
    'SHA-256 of schema.sql or of the migration file; a migration whose file has changed since is refused.';
COMMENT ON COLUMN nfsync_schema_version.applied_at IS 'When db init or db migrate applied it.';
COMMENT ON COLUMN nfsync_schema_version.name IS
    'nfsync: ''schema.sql'' for the install, NNNN_name for a migration (NULL only before this column existed).';
COMMENT ON COLUMN nfsync_schema_version.duration_ms IS 'nfsync: how long the migration ran (NULL for the install).';
