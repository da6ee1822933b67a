-- Queries of `nfsync bench fleet` (workers/lab/fleet_bench.py).

-- name: fleet_intervals
-- The organization's integrations poll orders every $2 minutes, their last polls spread over one interval (a fleet
-- in its steady state, not all due at once).
UPDATE marketplace_integrations
SET sync_interval = $2::int,
    config = config || '{"periodic_task_types": ["order_sync"]}'::jsonb,
    last_sync_at = now() - make_interval(secs => random() * $2::int * 60)
WHERE organization_id = $1;

-- name: fleet_pushes_left
SELECT count(*) FROM sync_tasks WHERE task_type = 'product_sync' AND status IN ('pending', 'processing');

-- name: fleet_stock_set
UPDATE "StockLevel" SET "onHand" = $2, reserved = 0 WHERE "variantId" = $1;

-- name: fleet_queue
SELECT count(*) FILTER (WHERE status = 'pending' AND scheduled_at <= now()) AS pending,
       count(*) FILTER (WHERE status = 'processing') AS running
FROM sync_tasks;

-- name: fleet_commits
SELECT xact_commit FROM pg_stat_database WHERE datname = current_database();

-- name: fleet_tasks
SELECT task_type, count(*) AS tasks FROM sync_tasks
WHERE status = 'completed' AND completed_at >= now() - make_interval(secs => $1)
GROUP BY 1;

-- name: fleet_lateness
-- Per task type, the longest a task of the window waited past its due time (one still waiting counts until now).
SELECT task_type, max(extract(epoch FROM coalesce(started_at, now()) - scheduled_at)) AS late_s
FROM sync_tasks
WHERE (started_at >= now() - make_interval(secs => $1) OR status = 'pending') AND scheduled_at <= now()
GROUP BY 1;

-- name: fleet_polls_behind
-- How far the periodic polls are behind their interval (<= 0: none is late).
SELECT coalesce(max(extract(epoch FROM now() - (last_sync_at + make_interval(mins => sync_interval)))), 0)
FROM marketplace_integrations WHERE status = 'active' AND sync_interval > 0;

-- name: fleet_xid
-- The next transaction id: it advances only for transactions that write (read-only ones get none), so its change
-- over the window counts the writing transactions among the commits.
SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint;

-- name: fleet_table_writes
SELECT relname AS name, n_tup_ins + n_tup_upd + n_tup_del AS writes FROM pg_stat_user_tables;
