-- Ops monitoring (workers/api/ops.py, nfsync status). $1 = organization or NULL for all.

-- name: ops_queue_stats
SELECT p.platform,
       count(t.id) FILTER (WHERE t.status = 'pending')::int AS pending,
       count(t.id) FILTER (WHERE t.status = 'pending' AND t.scheduled_at <= now()
                           AND (t.next_retry_at IS NULL OR t.next_retry_at <= now()))::int AS due,
       count(t.id) FILTER (WHERE t.status = 'processing')::int AS processing,
       count(t.id) FILTER (WHERE t.status = 'failed')::int AS failed,
       coalesce(extract(epoch FROM now() - min(greatest(t.scheduled_at, coalesce(t.next_retry_at, t.scheduled_at)))
                FILTER (WHERE t.status = 'pending' AND t.scheduled_at <= now()
                        AND (t.next_retry_at IS NULL OR t.next_retry_at <= now()))), 0)::float8 AS oldest_due_seconds,
       count(t.id) FILTER (WHERE t.status = 'completed' AND t.completed_at > now() - interval '5 minutes')::int
           AS completed_5m,
       count(t.id) FILTER (WHERE t.status = 'completed' AND t.completed_at > now() - interval '60 minutes')::int
           AS completed_60m,
       count(t.id) FILTER (WHERE t.status = 'failed' AND t.completed_at > now() - interval '5 minutes')::int
           AS failed_5m,
       count(t.id) FILTER (WHERE t.status = 'failed' AND t.completed_at > now() - interval '60 minutes')::int
           AS failed_60m
FROM unnest($2::text[]) AS p(platform)
LEFT JOIN sync_tasks t ON t.platform = p.platform AND ($1::uuid IS NULL OR t.organization_id = $1)
GROUP BY p.platform
ORDER BY p.platform;

-- name: ops_throttles
SELECT split_part(key, ':', 1) AS platform, sum(throttles)::bigint AS throttles
FROM rate_limit_buckets GROUP BY 1;

-- name: ops_throughput
-- Completions per minute over the last hour, per platform (the dashboard's charts).
SELECT platform, date_trunc('minute', completed_at) AS minute, count(*)::int AS completed
FROM sync_tasks
WHERE completed_at > now() - interval '60 minutes' AND status = 'completed' AND ($1::uuid IS NULL OR organization_id = $1)
GROUP BY 1, 2 ORDER BY 2;

-- name: ops_workers
-- Operators ($1 NULL): every live worker. A tenant: only the workers running its tasks, without host or pid.
SELECT w.id, CASE WHEN $1::uuid IS NULL THEN w.hostname END AS hostname,
       CASE WHEN $1::uuid IS NULL THEN w.pid END AS pid, w.platforms, w.concurrency, w.running, w.started_at, w.heartbeat_at, w.stopping,
       coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'task_type', t.task_type, 'platform', t.platform,
                                             'progress', t.progress, 'processed_items', t.processed_items,
                                             'total_items', t.total_items))
                FILTER (WHERE t.id IS NOT NULL), '[]'::jsonb) AS tasks
FROM nfsync_workers w
LEFT JOIN sync_tasks t ON t.lease_owner = w.id AND t.status = 'processing'
                      AND ($1::uuid IS NULL OR t.organization_id = $1)
WHERE w.heartbeat_at > now() - make_interval(secs => $2)
GROUP BY w.id
HAVING $1::uuid IS NULL OR count(t.id) > 0
ORDER BY w.started_at;

-- name: ops_recent_webhooks
SELECT id, platform, event_type, status, entity_id, error_message, received_at
FROM marketplace_webhooks
WHERE ($1::uuid IS NULL OR organization_id = $1)
ORDER BY received_at DESC
LIMIT $2;

-- name: ops_webhook_results
SELECT platform, status, count(*)::int AS n
FROM marketplace_webhooks
WHERE received_at > now() - interval '60 minutes' AND ($1::uuid IS NULL OR organization_id = $1)
GROUP BY 1, 2;

-- name: ops_depth_history
-- Pending tasks per platform at each of the last 60 minutes, reconstructed from task times (created before the
-- minute, not started by then): the dashboard's queue-depth chart without a metrics store.
SELECT t.platform, m.minute, count(*)::int AS pending
FROM generate_series(date_trunc('minute', now()) - interval '59 minutes', date_trunc('minute', now()),
                     interval '1 minute') AS m(minute)
JOIN sync_tasks t ON t.created_at <= m.minute AND (t.started_at IS NULL OR t.started_at > m.minute)
                 AND (t.completed_at IS NULL OR t.completed_at > m.minute)
WHERE t.created_at > now() - interval '2 hours' AND ($1::uuid IS NULL OR t.organization_id = $1)
GROUP BY 1, 2 ORDER BY 2;

-- name: ops_limiter_totals
-- Monotonic counters of the global limiter, per platform (keys are platform:app:shop:endpoint).
SELECT split_part(key, ':', 1) AS platform, sum(granted)::bigint AS calls, sum(throttles)::bigint AS throttles,
       sum(wait_seconds_total)::float8 AS wait_seconds
FROM rate_limit_buckets GROUP BY 1;

-- name: ops_task_durations
-- Tasks finished in the last hour per platform, task type and outcome: count, total and quantiles of the run
-- time, and the retries they took.
SELECT platform, task_type, status, count(*)::int AS n,
       coalesce(sum(extract(epoch FROM completed_at - started_at)), 0)::float8 AS seconds,
       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at)), 0)::float8
           AS p50,
       coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at)), 0)::float8
           AS p95,
       sum(retry_count)::int AS retries
FROM sync_tasks
WHERE completed_at > now() - interval '60 minutes' AND status IN ('completed', 'failed', 'cancelled')
  AND started_at IS NOT NULL AND ($1::uuid IS NULL OR organization_id = $1)
GROUP BY 1, 2, 3;

-- name: ops_event_backlog
-- Events written but not yet confirmed by RabbitMQ ($1: one organization's, or NULL for all).
SELECT count(*)::int AS events, extract(epoch FROM now() - min(created_at))::float8 AS oldest_seconds
FROM event_outbox WHERE ($1::uuid IS NULL OR organization_id = $1);

-- name: ops_subscribers
-- HTTP subscribers and their deliveries: pending, failed in the last 24 h, and delivered in the last hour.
SELECT s.id, s.url, s.status, s.disabled_reason, s.last_success_at, s.last_failure_at,
       (SELECT count(*) FROM event_deliveries d WHERE d.subscription_id = s.id AND d.status = 'pending')::int
           AS pending,
       (SELECT count(*) FROM event_deliveries d WHERE d.subscription_id = s.id AND d.status = 'failed'
          AND d.created_at >= now() - interval '24 hours')::int AS failed_24h,
       (SELECT count(*) FROM event_deliveries d WHERE d.subscription_id = s.id AND d.status = 'delivered'
          AND d.delivered_at >= now() - interval '1 hour')::int AS delivered_1h
FROM event_subscriptions s
WHERE ($1::uuid IS NULL OR s.organization_id = $1)
ORDER BY s.status DESC, s.last_failure_at DESC NULLS LAST, s.id
LIMIT 200;
