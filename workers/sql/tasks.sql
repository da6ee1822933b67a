-- The task engine's queries (workers/engine/). Times are UTC `timestamp`; durations arrive as seconds.

-- name: enqueue_targets
-- Validates the (integration, shop) pairs of an enqueue in one round trip: each must exist in the organization;
-- the caller checks they are active. Missing rows come back with NULL ids.
SELECT r.integration_id AS requested_integration_id, r.shop_id AS requested_shop_id,
       i.id AS integration_id, i.platform, i.status AS integration_status,
       s.id AS shop_id, s.account_id, s.shop_status, s.integration_id AS shop_integration_id,
       a.status AS account_status
FROM unnest($2::uuid[], $3::uuid[]) AS r(integration_id, shop_id)
LEFT JOIN marketplace_integrations i ON i.id = r.integration_id AND i.organization_id = $1
LEFT JOIN marketplace_shops s ON s.id = r.shop_id AND s.organization_id = $1
LEFT JOIN marketplace_accounts a ON a.id = s.account_id;

-- name: enqueue_insert
-- Inserts tasks, or merges each into the pending never-started task with the same dedupe key (coalescing).
-- One row for a single enqueue, many for a bulk one; the dedupe keys within one call must be distinct.
INSERT INTO sync_tasks AS t (organization_id, integration_id, account_id, shop_id, task_type, direction, priority,
                             scheduled_at, filter_criteria, max_retries, platform, created_by)
SELECT $1, r.integration_id, r.account_id, r.shop_id, r.task_type, r.direction, r.priority,
       coalesce(r.scheduled_at, now()::timestamp), r.filter_criteria, r.max_retries, r.platform, r.created_by
FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::int[], $8::timestamp[], $9::jsonb[],
            $10::int[], $11::text[], $12::uuid[])
     AS r(integration_id, account_id, shop_id, task_type, direction, priority, scheduled_at, filter_criteria,
          max_retries, platform, created_by)
ON CONFLICT (dedupe_key) WHERE status = 'pending' AND attempt = 0
DO UPDATE SET filter_criteria = nfsync_merge_filters(t.filter_criteria, EXCLUDED.filter_criteria),
              priority = greatest(t.priority, EXCLUDED.priority),
              scheduled_at = least(t.scheduled_at, EXCLUDED.scheduled_at),
              max_retries = greatest(t.max_retries, EXCLUDED.max_retries),
              coalesced_count = t.coalesced_count + 1
RETURNING t.id, t.status, t.platform, (t.xmax::text <> '0') AS coalesced;

-- name: request_lookup
SELECT r.task_id, r.coalesced, t.status, t.platform
FROM sync_task_requests r JOIN sync_tasks t ON t.id = r.task_id
WHERE r.organization_id = $1 AND r.idempotency_key = $2;

-- name: request_record
INSERT INTO sync_task_requests (organization_id, idempotency_key, task_id, coalesced)
VALUES ($1, $2, $3, $4)
ON CONFLICT (organization_id, idempotency_key) DO NOTHING
RETURNING task_id;

-- name: claim_tasks
-- The best due pending tasks of one platform, in the seed's order, at most one per (shop, task_type) and none
-- whose (shop, task_type) already runs (the unique index sync_tasks_one_running_idx is the backstop); a paused
-- shop's tasks wait.
-- $1 platform, $2 how many, $3 candidates to look at, $4 owner, $5 lease seconds, $6 task types handled.
WITH candidates AS (
    SELECT id, shop_id, task_type, priority, scheduled_at, next_retry_at
    FROM sync_tasks
    WHERE platform = $1 AND status = 'pending' AND task_type = ANY($6::text[])
      AND scheduled_at <= now() AND (next_retry_at IS NULL OR next_retry_at <= now())
      AND (shop_id IS NULL OR shop_id NOT IN (SELECT id FROM marketplace_shops WHERE paused_at IS NOT NULL))
    ORDER BY priority DESC, scheduled_at, next_retry_at NULLS FIRST
    LIMIT $3
    FOR UPDATE SKIP LOCKED
), ranked AS (
    SELECT c.*, row_number() OVER (PARTITION BY c.shop_id, c.task_type
                                   ORDER BY c.priority DESC, c.scheduled_at, c.next_retry_at NULLS FIRST) AS rn
    FROM candidates c
    WHERE c.shop_id IS NULL
       OR NOT EXISTS (SELECT 1 FROM sync_tasks r
                      WHERE r.shop_id = c.shop_id AND r.task_type = c.task_type AND r.status = 'processing')
), chosen AS (
    SELECT id FROM ranked
    WHERE rn = 1 OR shop_id IS NULL
    ORDER BY priority DESC, scheduled_at, next_retry_at NULLS FIRST
    LIMIT $2
)
UPDATE sync_tasks t
SET status = 'processing', started_at = now(), attempt = t.attempt + 1, lease_owner = $4, updated_at = now(),
    lease_expires_at = now() + make_interval(secs => $5), heartbeat_at = now(), completed_at = NULL
FROM chosen
WHERE t.id = chosen.id
RETURNING t.id, t.organization_id, t.integration_id, t.account_id, t.shop_id, t.platform, t.task_type, t.direction,
          t.priority, t.scheduled_at, t.filter_criteria, t.attempt, t.retry_count, t.max_retries;

-- name: finish_tasks
-- Writes a batch of outcomes, fenced by owner and attempt: a row whose lease was rescued is left alone.
-- outcome: completed | failed | retry | release | cancelled. A retry past max_retries fails the task; a release
-- (shutdown) or retry of a task whose cancellation was requested cancels it.
WITH o AS (
    SELECT * FROM unnest($2::uuid[], $3::int[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[], $9::int[],
                         $10::jsonb[], $11::float8[])
        AS o(id, attempt, outcome, error_message, total, processed, successful, failed, result, retry_delay)
), decided AS (
    SELECT o.*, t.retry_count, t.max_retries,
           CASE
               WHEN o.outcome IN ('completed', 'failed', 'cancelled') THEN o.outcome
               WHEN t.cancel_requested_at IS NOT NULL THEN 'cancelled'
               WHEN o.outcome = 'release' THEN 'pending'
               WHEN t.retry_count >= t.max_retries THEN 'failed'
               ELSE 'pending'
           END AS new_status
    FROM o JOIN sync_tasks t ON t.id = o.id
)
UPDATE sync_tasks t
SET status = d.new_status, updated_at = now(),
    completed_at = CASE WHEN d.new_status = 'pending' THEN NULL ELSE now() END,
    retry_count = t.retry_count + CASE WHEN d.outcome = 'retry' AND d.new_status = 'pending' THEN 1 ELSE 0 END,
    next_retry_at = CASE WHEN d.outcome = 'retry' AND d.new_status = 'pending'
                         THEN now() + make_interval(secs => d.retry_delay)
                         WHEN d.outcome = 'release' THEN NULL ELSE t.next_retry_at END,
    error_message = CASE
        WHEN d.outcome = 'retry' AND d.new_status = 'failed'
            THEN 'retries exhausted after ' || (t.retry_count + 1) || ' attempts: ' || d.error_message
        WHEN d.outcome = 'release' THEN t.error_message
        ELSE d.error_message END,
    progress = CASE WHEN d.new_status = 'completed' THEN 100 ELSE t.progress END,
    total_items = coalesce(d.total, t.total_items),
    processed_items = coalesce(d.processed, t.processed_items),
    successful_items = coalesce(d.successful, t.successful_items),
    failed_items = coalesce(d.failed, t.failed_items),
    result = coalesce(d.result, t.result),
    lease_owner = NULL, lease_expires_at = NULL
FROM decided d
WHERE t.id = d.id AND t.attempt = d.attempt AND t.lease_owner = $1 AND t.status = 'processing'
RETURNING t.id, t.status, t.platform;

-- name: heartbeat_tasks
-- Extends the leases of the tasks this owner still holds; returns them with their cancellation flag.
UPDATE sync_tasks t
SET lease_expires_at = now() + make_interval(secs => $4), heartbeat_at = now(), updated_at = now()
FROM unnest($2::uuid[], $3::int[]) AS h(id, attempt)
WHERE t.id = h.id AND t.attempt = h.attempt AND t.lease_owner = $1 AND t.status = 'processing'
RETURNING t.id, t.cancel_requested_at IS NOT NULL AS cancel_requested;

-- name: progress_tasks
UPDATE sync_tasks t
SET updated_at = now(), total_items = p.total, processed_items = p.processed, successful_items = p.successful,
    failed_items = p.failed,
    progress = CASE WHEN p.total > 0 THEN least(99, (100 * p.processed) / p.total) ELSE t.progress END
FROM unnest($2::uuid[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[])
     AS p(id, attempt, total, processed, successful, failed)
WHERE t.id = p.id AND t.attempt = p.attempt AND t.lease_owner = $1 AND t.status = 'processing';

-- name: cancel_requested
SELECT id FROM sync_tasks
WHERE id = ANY($1::uuid[]) AND status = 'processing' AND cancel_requested_at IS NOT NULL;

-- name: worker_register
INSERT INTO nfsync_workers (id, hostname, pid, platforms, concurrency)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET heartbeat_at = now();

-- name: worker_heartbeat
UPDATE nfsync_workers SET heartbeat_at = now(), running = $2, stopping = $3 WHERE id = $1;

-- name: worker_unregister
DELETE FROM nfsync_workers WHERE id = $1;

-- name: rescue_expired_leases
-- Tasks whose owner stopped heart-beating: back to pending with the attempt counted, failed when retries are
-- exhausted, cancelled when cancellation was requested.
WITH expired AS (
    SELECT id FROM sync_tasks
    WHERE status = 'processing' AND lease_expires_at < now()
    ORDER BY lease_expires_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE sync_tasks t
SET status = CASE WHEN t.cancel_requested_at IS NOT NULL THEN 'cancelled'
                  WHEN t.retry_count >= t.max_retries THEN 'failed' ELSE 'pending' END,
    retry_count = CASE WHEN t.cancel_requested_at IS NULL AND t.retry_count < t.max_retries
                       THEN t.retry_count + 1 ELSE t.retry_count END,
    next_retry_at = NULL,
    completed_at = CASE WHEN t.cancel_requested_at IS NOT NULL OR t.retry_count >= t.max_retries
                        THEN now() ELSE NULL END,
    error_message = 'lease of worker ' || t.lease_owner || ' expired (attempt ' || t.attempt || ')',
    lease_owner = NULL, lease_expires_at = NULL
FROM expired
WHERE t.id = expired.id
RETURNING t.id, t.platform, t.status;

-- name: newly_due_platforms
-- Platforms with a pending task that became due since $1 (delayed tasks and retries), for their wake-up.
SELECT DISTINCT platform FROM sync_tasks
WHERE status = 'pending'
  AND greatest(scheduled_at, coalesce(next_retry_at, scheduled_at)) > $1
  AND greatest(scheduled_at, coalesce(next_retry_at, scheduled_at)) <= now();

-- name: mark_stale_due_tasks
-- Due tasks nobody claimed for $1 seconds (lost wake-up, or no worker): re-send, at most every $1 seconds each.
WITH stale AS (
    SELECT id FROM sync_tasks
    WHERE status = 'pending' AND scheduled_at <= now() AND (next_retry_at IS NULL OR next_retry_at <= now())
      AND (shop_id IS NULL OR shop_id NOT IN (SELECT id FROM marketplace_shops WHERE paused_at IS NOT NULL))
      AND greatest(scheduled_at, coalesce(next_retry_at, scheduled_at), updated_at)
          < now() - make_interval(secs => $1)
      AND (dispatched_at IS NULL OR dispatched_at < now() - make_interval(secs => $1))
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE sync_tasks t SET dispatched_at = now()
FROM stale WHERE t.id = stale.id
RETURNING t.id, t.platform;

-- name: due_periodic_integrations
SELECT id, organization_id, platform, config, sync_interval
FROM marketplace_integrations
WHERE status = 'active' AND sync_interval IS NOT NULL AND sync_interval > 0
  AND (last_sync_at IS NULL OR last_sync_at + make_interval(mins => sync_interval) <= now())
ORDER BY last_sync_at NULLS FIRST
LIMIT $1;

-- name: active_shops_of_integration
SELECT s.id FROM marketplace_shops s
JOIN marketplace_accounts a ON a.id = s.account_id
WHERE a.integration_id = $1 AND a.status = 'active' AND s.shop_status = 'active';

-- name: active_shops_of_integrations
-- The active shops of the due integrations $1, in one read (the scheduler's periodic polls).
SELECT a.integration_id, s.id FROM marketplace_shops s
JOIN marketplace_accounts a ON a.id = s.account_id
WHERE a.integration_id = ANY($1::uuid[]) AND a.status = 'active' AND s.shop_status = 'active';

-- name: touch_integrations_last_sync
UPDATE marketplace_integrations SET last_sync_at = now() WHERE id = ANY($1::uuid[]);

-- name: prune_finished_tasks
WITH old AS (
    SELECT id FROM sync_tasks
    WHERE status IN ('completed', 'failed', 'cancelled') AND completed_at < now() - make_interval(days => $1)
    LIMIT $2
)
DELETE FROM sync_tasks t USING old WHERE t.id = old.id;

-- name: prune_webhooks
WITH old AS (
    SELECT id FROM marketplace_webhooks WHERE received_at < now() - make_interval(days => $1) LIMIT $2
)
DELETE FROM marketplace_webhooks w USING old WHERE w.id = old.id;

-- name: prune_sync_logs
SELECT sync_logs_drop_partitions_before((date_trunc('month', now() - make_interval(days => $1)))::timestamp);

-- name: ensure_sync_logs_partitions
SELECT sync_logs_ensure_partitions(1, 3);

-- name: prune_dead_workers
DELETE FROM nfsync_workers WHERE heartbeat_at < now() - make_interval(secs => $1);

-- name: task_get
SELECT * FROM sync_tasks WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2);

-- name: task_list
SELECT id, organization_id, integration_id, platform, shop_id, task_type, direction, status, priority, scheduled_at,
       started_at, completed_at, progress, total_items, processed_items, successful_items, failed_items,
       filter_criteria, retry_count, max_retries, next_retry_at, error_message, lease_owner, created_at
FROM sync_tasks
WHERE ($1::uuid IS NULL OR organization_id = $1)
  AND ($2::text IS NULL OR status = $2)
  AND ($3::text IS NULL OR platform = $3)
  AND ($4::uuid IS NULL OR shop_id = $4)
  AND ($5::text IS NULL OR task_type = $5)
ORDER BY created_at DESC, id
LIMIT $6 OFFSET $7;

-- name: task_cancel
-- Pending -> cancelled at once; processing -> cancellation requested (the handler stops at its next checkpoint).
-- $3: the statuses a cancel accepts (ACTION_STATUSES in workers/engine/service.py: pending, processing).
UPDATE sync_tasks
SET status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END,
    completed_at = CASE WHEN status = 'pending' THEN now() ELSE completed_at END,
    cancel_requested_at = now()
WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2) AND status = ANY ($3::text[])
RETURNING id, status, platform;

-- name: task_retry
-- A failed or cancelled task back to pending, with its retry budget restored.
-- $3: the statuses a retry accepts (ACTION_STATUSES in workers/engine/service.py: failed, cancelled).
UPDATE sync_tasks
SET status = 'pending', retry_count = 0, next_retry_at = NULL, completed_at = NULL, cancel_requested_at = NULL,
    error_message = NULL, progress = 0, scheduled_at = least(scheduled_at, now()::timestamp)
WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2) AND status = ANY ($3::text[])
RETURNING id, status, platform;

-- name: task_retry_many
-- Bulk retry: the oldest tasks matching the list's filters ($1 organization or NULL, $2 status: failed or cancelled,
-- $3 platform, $4 shop, $5 task type) back to pending, at most $6. A task whose coalescing key a pending
-- never-started task holds is left alone (that task covers it), and so is all but the newest of never-started ones
-- sharing a key.
WITH candidates AS (
    SELECT t.id, t.dedupe_key, t.attempt, t.created_at
    FROM sync_tasks t
    WHERE ($1::uuid IS NULL OR t.organization_id = $1) AND t.status = $2
      AND ($3::text IS NULL OR t.platform = $3) AND ($4::uuid IS NULL OR t.shop_id = $4)
      AND ($5::text IS NULL OR t.task_type = $5)
      AND NOT EXISTS (SELECT 1 FROM sync_tasks twin
                      WHERE twin.dedupe_key = t.dedupe_key AND twin.status = 'pending' AND twin.attempt = 0)
    ORDER BY t.created_at, t.id
    LIMIT $6
    FOR UPDATE SKIP LOCKED
), chosen AS (
    SELECT r.id FROM (
        SELECT c.id, c.attempt,
               row_number() OVER (PARTITION BY c.dedupe_key, c.attempt = 0 ORDER BY c.created_at DESC, c.id) AS rn
        FROM candidates c
    ) r
    WHERE r.attempt > 0 OR r.rn = 1
)
UPDATE sync_tasks t
SET status = 'pending', retry_count = 0, next_retry_at = NULL, completed_at = NULL, cancel_requested_at = NULL,
    error_message = NULL, progress = 0, scheduled_at = least(scheduled_at, now()::timestamp)
FROM chosen
WHERE t.id = chosen.id
RETURNING t.id, t.platform;

-- name: task_pending_twin
-- The never-started pending task that holds a task's coalescing key (sync_tasks_coalesce_idx), if another one does.
SELECT twin.id
FROM sync_tasks t
JOIN sync_tasks twin ON twin.dedupe_key = t.dedupe_key AND twin.status = 'pending' AND twin.attempt = 0
WHERE t.id = $1 AND twin.id <> t.id;

-- name: task_status_counts
SELECT platform, status, count(*)::int AS n FROM sync_tasks GROUP BY platform, status ORDER BY platform, status;

-- name: integration_organization
SELECT organization_id FROM marketplace_integrations WHERE id = $1;

-- name: prune_oauth_states
-- States a day past their expiry ($1 days ignored: they are worthless once expired).
WITH old AS (SELECT nonce FROM oauth_states WHERE expires_at < now() - interval '1 day' LIMIT $2)
DELETE FROM oauth_states s USING old WHERE s.nonce = old.nonce AND $1::int >= 0;

-- name: lost_push_integrations
-- Active integrations of the given platforms (those with a lost-push API) and one active shop of each: the
-- scheduler's periodic lost-push recovery runs as that shop's shop_sync. $1 platforms.
SELECT DISTINCT ON (i.id) i.id, i.organization_id, s.id AS shop_id
FROM marketplace_integrations i
JOIN marketplace_accounts a ON a.integration_id = i.id AND a.status = 'active'
JOIN marketplace_shops s ON s.account_id = a.id AND s.shop_status = 'active'
WHERE i.status = 'active' AND i.platform = ANY ($1::text[])
ORDER BY i.id, s.created_at, s.id;
