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
