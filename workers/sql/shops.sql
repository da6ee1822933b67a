-- Shop health and control (workers/shop_health.py, workers/api/shops.py).

-- name: shop_health
-- One shop's figures: its account's tokens, its work, its items tried and failed over 24 h (the counters of the
-- tasks that ended then: cheap however many sync_logs rows they wrote) and the last push it received
-- (marketplace_webhooks_shop_received_idx). $1 one shop or NULL, $2 one organization or NULL, $3 at most.
SELECT s.id, s.organization_id, s.platform, s.shop_id AS platform_shop_id, s.shop_name, s.shop_status, s.sync_status,
       s.last_sync_at, s.paused_at, s.stale_since, s.error_message, a.status AS account_status, a.auth_type,
       a.token_expires_at, a.refresh_token_expires_at, i.sync_interval,
       (SELECT count(*) FROM sync_tasks t WHERE t.shop_id = s.id AND t.status = 'pending')::int AS pending_tasks,
       (SELECT count(*) FROM sync_tasks t WHERE t.shop_id = s.id AND t.status = 'processing')::int AS running_tasks,
       (SELECT max(w.received_at) FROM marketplace_webhooks w WHERE w.shop_id = s.id) AS webhook_last_seen_at,
       l.items AS items_24h, l.failed AS failed_items_24h
FROM marketplace_shops s
JOIN marketplace_accounts a ON a.id = s.account_id
LEFT JOIN marketplace_integrations i ON i.id = s.integration_id
CROSS JOIN LATERAL (
    SELECT coalesce(sum(t.processed_items), 0)::int AS items, coalesce(sum(t.failed_items), 0)::int AS failed
    FROM sync_tasks t
    WHERE t.shop_id = s.id AND t.status IN ('completed', 'failed') AND t.completed_at >= now() - interval '24 hours'
) l
WHERE ($1::uuid IS NULL OR s.id = $1) AND ($2::uuid IS NULL OR s.organization_id = $2)
ORDER BY s.created_at, s.id
LIMIT $3;

-- name: shop_health_tasks
-- Last success and last failure per task type of the shops given (the most recent error with it).
SELECT shop_id, task_type,
       max(completed_at) FILTER (WHERE status = 'completed') AS last_success_at,
       max(completed_at) FILTER (WHERE status = 'failed') AS last_failure_at,
       (array_agg(error_message ORDER BY completed_at DESC) FILTER (WHERE status = 'failed'))[1] AS last_error,
       (count(*) FILTER (WHERE status = 'failed' AND completed_at >= now() - interval '24 hours'))::int
           AS failures_24h
FROM sync_tasks
WHERE shop_id = ANY ($1::uuid[]) AND status IN ('completed', 'failed')
GROUP BY shop_id, task_type
ORDER BY shop_id, task_type;

-- name: shop_pause
-- A paused shop's tasks wait (claim_tasks skips them); pausing again keeps the first time.
UPDATE marketplace_shops SET paused_at = coalesce(paused_at, now())
WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2)
RETURNING id, platform, paused_at;

-- name: shop_resume
UPDATE marketplace_shops SET paused_at = NULL
WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2)
RETURNING id, platform, paused_at;
