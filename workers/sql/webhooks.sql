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

-- name: webhook_deauthorized_events
-- shop.deauthorized for each shop of the account the platform's push deauthorized, unless already deactivated.
SELECT nfsync_shop_event($1, s.id, 'shop.deauthorized', jsonb_build_object('reason', $2::text))
FROM marketplace_shops s
WHERE s.account_id = $1 AND s.shop_status <> 'inactive';

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

-- name: webhook_ingest_session
-- Each connection of the webhook batcher (workers/api/ingest.py): give up a lock wait after $1 (see there).
SELECT set_config('lock_timeout', $1, false);

-- name: webhook_ingest_batch
-- The hot path for pushes that ask for work (order status, product change), many in ONE autocommitted statement
-- (workers/api/ingest.py): one round trip and one commit for a batch. Per push: resolve the active shop it names;
-- unless its dedupe key was stored before, its work joins the one task upserted (coalesced) per (integration, shop,
-- task type) of the batch, with the batch's filters merged; and it is stored - processed, with that task - once per
-- dedupe key. Returns (integration_id, dedupe_key, id, task_id, shop_id) per push stored; a push with no row was not
-- written (a known dedupe key, an unknown shop, a task out of sight) and takes the caller's general path. The
-- dedupe keys of one batch are distinct (the caller sees to it). Tasks are locked in dedupe-key order, so
-- concurrent batches do not deadlock on them.
-- $1 orgs, $2 integrations, $3 platforms, $4 event kinds, $5 dedupe keys, $6 platform shop ids, $7 entity ids,
-- $8 entity statuses, $9 headers (JSON text), $10 payloads (the raw JSON text), $11 task types, $12 priorities,
-- $13 filter criteria (JSON text): parallel arrays, one element per push.
WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::text[], $9::text[], $10::text[], $11::text[], $12::integer[], $13::text[])
        AS u(org, integration, platform, kind, dedupe, shop, entity, status, headers, payload, task_type, priority,
             filter)
), fresh AS (
    -- pushes naming an active shop of their integration whose dedupe key is new
    SELECT u.*, s.id AS shop_uuid, s.account_id,
           u.integration::text || '/' || s.id::text || '/' || u.task_type || '/marketplace_to_crm' AS task_key
    FROM input u
    JOIN marketplace_accounts a ON a.integration_id = u.integration AND a.status = 'active'
    JOIN marketplace_shops s ON s.account_id = a.id AND s.shop_id = u.shop AND s.shop_status = 'active'
    WHERE NOT EXISTS (SELECT 1 FROM marketplace_webhooks w WHERE w.integration_id = u.integration
                                                             AND w.dedupe_key = u.dedupe)
), wanted AS (
    -- one task per (integration, shop, task type): what all its pushes ask for
    SELECT task_key, (array_agg(org))[1] AS org, integration, shop_uuid, (array_agg(account_id))[1] AS account_id,
           task_type, (array_agg(platform))[1] AS platform, max(priority) AS priority,
           nfsync_merge_filters_agg(filter::jsonb) AS filter
    FROM fresh GROUP BY task_key, integration, shop_uuid, task_type
), existing AS (
    -- the pending tasks these pushes coalesce into, found through sync_tasks_coalesce_idx; locked, and re-checked
    -- on their newest version: a task a worker claimed since this statement's snapshot (it may already have read
    -- its pushes) is not one to attach pushes to
    SELECT t.id, t.dedupe_key, t.filter_criteria, t.priority FROM sync_tasks t
    WHERE t.dedupe_key IN (SELECT task_key FROM wanted) AND t.status = 'pending' AND t.attempt = 0
    ORDER BY t.dedupe_key
    FOR UPDATE OF t
), widened AS (
    -- an existing task takes what the batch asks for beyond its own filter and priority (enqueue_insert's merge);
    -- a burst of pushes for one shop changes nothing after the first: no write, no per-shop row queue
    UPDATE sync_tasks t
    SET filter_criteria = nfsync_merge_filters(e.filter_criteria, w.filter),
        priority = greatest(e.priority, w.priority),
        scheduled_at = least(t.scheduled_at, now()::timestamp),
        max_retries = greatest(t.max_retries, 3),  -- 3: the column default, what a new task of a push gets
        coalesced_count = t.coalesced_count + 1
    FROM existing e JOIN wanted w ON w.task_key = e.dedupe_key
    WHERE t.id = e.id
      AND (w.priority > e.priority
           OR (e.filter_criteria IS DISTINCT FROM w.filter
               AND e.filter_criteria IS DISTINCT FROM nfsync_merge_filters(e.filter_criteria, w.filter)))
), created AS (
    -- a task for each shop that has none pending; one a concurrent statement just created is merged into (the
    -- ON CONFLICT clause is enqueue_insert's)
    INSERT INTO sync_tasks AS t (organization_id, integration_id, account_id, shop_id, task_type, direction, priority,
                                 filter_criteria, platform)
    SELECT w.org, w.integration, w.account_id, w.shop_uuid, w.task_type, 'marketplace_to_crm', w.priority, w.filter,
           w.platform
    FROM wanted w WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.dedupe_key = w.task_key)
    ORDER BY w.task_key
    ON CONFLICT (dedupe_key) WHERE status = 'pending' AND attempt = 0
    DO UPDATE SET filter_criteria = nfsync_merge_filters(t.filter_criteria, EXCLUDED.filter_criteria),
                  priority = greatest(t.priority, EXCLUDED.priority),
                  scheduled_at = least(t.scheduled_at, EXCLUDED.scheduled_at),
                  max_retries = greatest(t.max_retries, EXCLUDED.max_retries),
                  coalesced_count = t.coalesced_count + 1
    WHERE t.filter_criteria IS DISTINCT FROM nfsync_merge_filters(t.filter_criteria, EXCLUDED.filter_criteria)
       OR EXCLUDED.priority > t.priority
    RETURNING t.id, t.dedupe_key
), resolved AS (
    SELECT w.task_key, coalesce(created.id, existing.id) AS task_id
    FROM wanted w
    LEFT JOIN created ON created.dedupe_key = w.task_key
    LEFT JOIN existing ON existing.dedupe_key = w.task_key
)
INSERT INTO marketplace_webhooks (organization_id, integration_id, shop_id, platform, event_type, dedupe_key,
                                  platform_shop_id, entity_id, entity_status, headers, payload, status, task_id,
                                  attempts, processed_at, error_message)
SELECT f.org, f.integration, f.shop_uuid, f.platform, f.kind, f.dedupe, f.shop, f.entity, f.status,
       f.headers::jsonb, f.payload::jsonb, 'processed', r.task_id, 1, now(), NULL
FROM fresh f JOIN resolved r ON r.task_key = f.task_key
-- a concurrent statement may have just created the pending task: the insert's merge then returns nothing (its
-- WHERE is false) and this statement's snapshot cannot see the row: store nothing, the caller takes the general path
WHERE r.task_id IS NOT NULL
ON CONFLICT (integration_id, dedupe_key) DO NOTHING
RETURNING integration_id, dedupe_key, id, task_id, shop_id;

-- name: webhook_echo_mappings
-- What nfsync last pushed for the object a product push names ($3: a product or a variation id) in the shop the
-- push comes from: the active shop of integration $1 whose shop_id is $2, else the integration's only active shop
-- (as webhook_store / webhook_only_shop resolve it). The push is an echo of nfsync's own write when it reports
-- just that (connectors/woocommerce/webhooks.py is_echo).
WITH shops AS (
    SELECT s.id, s.shop_id FROM marketplace_shops s
    JOIN marketplace_accounts a ON a.id = s.account_id
    WHERE a.integration_id = $1 AND s.shop_status = 'active' AND a.status = 'active'
), shop AS (
    SELECT id FROM shops WHERE shop_id = $2
    UNION ALL
    SELECT id FROM shops
    WHERE NOT EXISTS (SELECT 1 FROM shops WHERE shop_id = $2) AND (SELECT count(*) FROM shops) = 1
)
SELECT m.platform_item_id, m.platform_variant_id, m.last_pushed_stock, m.last_pushed_price,
       greatest(m.last_pushed_at, m.price_pushed_at, m.stock_pushed_at) AT TIME ZONE 'UTC' AS pushed_at
FROM product_mappings m
WHERE m.shop_id IN (SELECT id FROM shop) AND m.status = 'active'
  AND (m.platform_item_id = $3 OR m.platform_variant_id = $3);
