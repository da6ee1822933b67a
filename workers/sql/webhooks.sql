-- Webhook ingestion (workers/api/webhooks.py). Runs as the owner: the organization comes from the integration.

-- name: webhook_integration
SELECT id, organization_id, platform, status, config, credentials, webhook_secret
FROM marketplace_integrations WHERE id = $1;

-- name: webhook_store
-- Stores the push once per dedupe key, resolving the active shop it names in the same statement.
WITH shop AS (
    SELECT s.id, s.account_id FROM marketplace_shops s
    JOIN marketplace_accounts a ON a.id = s.account_id
    WHERE a.integration_id = $2 AND s.shop_id = $6 AND s.shop_status = 'active' AND a.status = 'active'
)
INSERT INTO marketplace_webhooks (organization_id, integration_id, shop_id, platform, event_type, dedupe_key,
                                  platform_shop_id, entity_id, entity_status, headers, payload, status, attempts)
VALUES ($1, $2, (SELECT id FROM shop), $3, $4, $5, $6, $7, $8, $9, $10, 'received', 1)
ON CONFLICT (integration_id, dedupe_key) DO NOTHING
RETURNING id, shop_id, (SELECT account_id FROM shop) AS account_id;

-- name: webhook_shop_by_id
SELECT id AS shop_id, account_id FROM marketplace_shops WHERE id = $1;

-- name: webhook_only_shop
-- Platforms whose push names no shop we know (WooCommerce: one store per integration).
SELECT s.id AS shop_id, s.account_id FROM marketplace_shops s
JOIN marketplace_accounts a ON a.id = s.account_id
WHERE a.integration_id = $1 AND s.shop_status = 'active' AND a.status = 'active'
ORDER BY s.created_at
LIMIT 2;

-- name: webhook_processed
UPDATE marketplace_webhooks SET status = $2, task_id = $3, error_message = $4, processed_at = now() WHERE id = $1;

-- name: webhook_deauthorize
WITH account AS (
    UPDATE marketplace_accounts SET status = 'error', error_message = $2
    WHERE id = $1 RETURNING id
), shops AS (
    UPDATE marketplace_shops SET shop_status = 'inactive', sync_status = 'error', error_message = $2
    WHERE account_id = $1 RETURNING id
)
UPDATE sync_tasks
SET status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END,
    completed_at = CASE WHEN status = 'pending' THEN now() ELSE completed_at END,
    cancel_requested_at = now(), error_message = coalesce(error_message, $2)
WHERE account_id = $1 AND status IN ('pending', 'processing');

-- name: webhook_expiring
UPDATE marketplace_accounts
SET metadata = coalesce(metadata, '{}'::jsonb) || jsonb_build_object('authorization_expiring_at', $2::text)
WHERE id = $1;

-- name: webhook_get
SELECT * FROM marketplace_webhooks WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2);

-- name: webhook_replayed
UPDATE marketplace_webhooks SET attempts = attempts + 1 WHERE id = $1;

-- name: webhook_ingest_work
-- The hot path for a push that asks for work (order status, product change), in ONE autocommitted statement:
-- resolve the active shop it names, upsert (coalesce) the sync task unless this dedupe key was stored before, and
-- store the push - processed, with its task - once per dedupe key. Two identical deliveries racing may both reach
-- the upsert; the second is a no-op merge (same id, same filter). The ON CONFLICT clause is enqueue_insert's.
-- Writes nothing when the shop is unknown, the key known or the task out of sight: the caller then takes the
-- general path.
-- $1 org, $2 integration, $3 platform, $4 event kind, $5 dedupe key, $6 platform shop id, $7 entity id,
-- $8 entity status, $9 headers, $10 payload (the raw JSON text), $11 task type, $12 priority, $13 filter criteria.
WITH known AS (
    SELECT 1 FROM marketplace_webhooks WHERE integration_id = $2 AND dedupe_key = $5
), shop AS (
    SELECT s.id, s.account_id FROM marketplace_shops s
    JOIN marketplace_accounts a ON a.id = s.account_id
    WHERE a.integration_id = $2 AND s.shop_id = $6 AND s.shop_status = 'active' AND a.status = 'active'
), existing AS (
    -- the pending task this push coalesces into, found through sync_tasks_coalesce_idx
    SELECT t.id FROM sync_tasks t, shop
    WHERE t.dedupe_key = $2::text || '/' || shop.id::text || '/' || $11 || '/marketplace_to_crm'
      AND t.status = 'pending' AND t.attempt = 0
    -- locked, and re-checked on its newest version: a task a worker claimed since this statement's snapshot
    -- (it may already have read its pushes) is not one to attach this push to
    FOR UPDATE OF t
), task AS (
    INSERT INTO sync_tasks AS t (organization_id, integration_id, account_id, shop_id, task_type, direction, priority,
                                 filter_criteria, platform)
    SELECT $1, $2, shop.account_id, shop.id, $11, 'marketplace_to_crm', $12, $13, $3
    FROM shop WHERE NOT EXISTS (SELECT 1 FROM known)
    ON CONFLICT (dedupe_key) WHERE status = 'pending' AND attempt = 0
    DO UPDATE SET filter_criteria = nfsync_merge_filters(t.filter_criteria, EXCLUDED.filter_criteria),
                  priority = greatest(t.priority, EXCLUDED.priority),
                  scheduled_at = least(t.scheduled_at, EXCLUDED.scheduled_at),
                  max_retries = greatest(t.max_retries, EXCLUDED.max_retries),
                  coalesced_count = t.coalesced_count + 1
    -- a burst of pushes for one shop changes nothing after the first: no write, no per-shop row queue
    WHERE t.filter_criteria IS DISTINCT FROM nfsync_merge_filters(t.filter_criteria, EXCLUDED.filter_criteria)
       OR EXCLUDED.priority > t.priority
    RETURNING t.id
)
INSERT INTO marketplace_webhooks (organization_id, integration_id, shop_id, platform, event_type, dedupe_key,
                                  platform_shop_id, entity_id, entity_status, headers, payload, status, task_id,
                                  attempts, processed_at, error_message)
SELECT $1, $2, shop.id, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb, 'processed',
       coalesce((SELECT id FROM task), (SELECT id FROM existing)), 1, now(), NULL
FROM shop
WHERE NOT EXISTS (SELECT 1 FROM known)
  -- a concurrent push may have just inserted the pending task: the upsert then returns nothing (its WHERE is
  -- false) and this statement's snapshot cannot see the row: store nothing, the caller takes the general path
  AND coalesce((SELECT id FROM task), (SELECT id FROM existing)) IS NOT NULL
ON CONFLICT (integration_id, dedupe_key) DO NOTHING
RETURNING id, task_id, shop_id;
