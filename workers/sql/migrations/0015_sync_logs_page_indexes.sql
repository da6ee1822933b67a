-- Migration 15: indexes that serve every filter of GET /v1/sync-logs newest first (issue #17, `nfsync bench
-- sync-logs`): one task's or one entity's items come from (task_id, created_at) and (entity_id, created_at) in
-- time order instead of a walk back through the organization's whole history, and failures from a partial index
-- holding only them.
-- Locks: builds three indexes on every sync_logs partition; writes to sync_logs wait while they build (about a
-- minute per 10 million rows on a small machine): run it off-peak on a large history.

DROP INDEX sync_logs_task_id_idx;
CREATE INDEX sync_logs_task_created_idx ON sync_logs (task_id, created_at);
CREATE INDEX sync_logs_entity_created_idx ON sync_logs (entity_id, created_at);
CREATE INDEX sync_logs_failed_created_idx ON sync_logs (organization_id, created_at) WHERE status = 'failed';
