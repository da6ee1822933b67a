-- `nfsync bench sync-logs` (workers/lab/logs_bench.py): a large sync_logs to page through.

-- name: bench_logs_fill
-- Rows $5 .. $6 of a history of $4 rows spread evenly over the last $7 days, newest last, for organization $1:
-- its integration $2, shops $3 in turn, one task per 1,000 rows, 100,000 entities, one row in 97 failed.
INSERT INTO sync_logs (created_at, organization_id, integration_id, shop_id, task_id, task_type, direction,
                       entity_type, entity_id, action, status, error_message)
SELECT now()::timestamp - make_interval(secs => $7 * 86400.0 * ($4 - n) / $4), $1::uuid, $2,
       ($3::uuid[])[1 + n % cardinality($3::uuid[])], md5($1::uuid::text || (n / 1000)::text)::uuid, 'inventory_sync',
       'crm_to_marketplace', 'inventory', 'v-' || (n % 100000), 'update',
       CASE WHEN n % 97 = 0 THEN 'failed' ELSE 'success' END, CASE WHEN n % 97 = 0 THEN 'refused' END
FROM generate_series($5::bigint, $6::bigint) AS n;

-- name: bench_logs_row_at
-- A row about $2 days back of organization $1 (a deep cursor position).
SELECT created_at, id FROM sync_logs
WHERE organization_id = $1 AND created_at <= now()::timestamp - make_interval(days => $2)
ORDER BY created_at DESC, id DESC
LIMIT 1;
