-- Integrations, accounts and shops of the HTTP API (workers/api/integrations.py). Every statement is also
-- filtered by organization ($2 / $1) on top of row-level security.

-- name: integration_insert
INSERT INTO marketplace_integrations (id, organization_id, name, description, platform, config, credentials,
                                      api_version, api_base_url, webhook_secret, rate_limit, sync_interval)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING *;

-- name: integration_get
SELECT * FROM marketplace_integrations WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2);

-- name: integration_list
SELECT * FROM marketplace_integrations WHERE ($1::uuid IS NULL OR organization_id = $1)
ORDER BY created_at, id LIMIT $2 OFFSET $3;

-- name: integration_update
UPDATE marketplace_integrations
SET name = $3, description = $4, config = $5, credentials = $6, api_version = $7, api_base_url = $8,
    webhook_secret = $9, rate_limit = $10, sync_interval = $11, status = $12
WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2)
RETURNING *;

-- name: account_insert
INSERT INTO marketplace_accounts (id, organization_id, integration_id, name, platform, platform_account_id, auth_type,
                                  auth_data, scopes, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *;

-- name: account_get
SELECT * FROM marketplace_accounts WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2);

-- name: account_list
SELECT * FROM marketplace_accounts WHERE integration_id = $1 AND ($2::uuid IS NULL OR organization_id = $2)
ORDER BY created_at, id;

-- name: account_update
UPDATE marketplace_accounts SET name = $3, auth_data = $4, scopes = $5, metadata = $6, status = $7
WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2)
RETURNING *;

-- name: shop_insert
INSERT INTO marketplace_shops (organization_id, account_id, platform, shop_id, shop_name, shop_url, shop_region,
                               sale_channel_id, shop_data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING *;

-- name: shop_get
SELECT * FROM marketplace_shops WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2);

-- name: shop_list
SELECT * FROM marketplace_shops WHERE account_id = $1 AND ($2::uuid IS NULL OR organization_id = $2)
ORDER BY created_at, id;

-- name: shop_update
UPDATE marketplace_shops SET shop_name = $3, shop_url = $4, shop_region = $5, sale_channel_id = $6, shop_data = $7,
                             shop_status = $8
WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2)
RETURNING *;

-- name: stop_pending_tasks_of_account
-- Deactivation or deauthorisation: pending tasks of the account stop (running ones stop at their checkpoint).
UPDATE sync_tasks
SET status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END,
    completed_at = CASE WHEN status = 'pending' THEN now() ELSE completed_at END,
    cancel_requested_at = now(),
    error_message = coalesce(error_message, $2)
WHERE account_id = $1 AND status IN ('pending', 'processing');

-- name: oauth_account_upsert
INSERT INTO marketplace_accounts (organization_id, integration_id, name, platform, platform_account_id, auth_type)
VALUES ($1, $2, $3, $4, $5, 'oauth')
ON CONFLICT (organization_id, platform, platform_account_id)
DO UPDATE SET status = 'active', error_message = NULL, integration_id = EXCLUDED.integration_id
RETURNING id;

-- name: oauth_shop_upsert
INSERT INTO marketplace_shops (organization_id, account_id, platform, shop_id, shop_name, shop_data)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (organization_id, platform, shop_id)
DO UPDATE SET account_id = EXCLUDED.account_id, shop_status = 'active', sync_status = 'pending',
              shop_data = coalesce(marketplace_shops.shop_data, '{}'::jsonb) || coalesce(EXCLUDED.shop_data, '{}'::jsonb)
RETURNING id;

-- name: oauth_state_insert
INSERT INTO oauth_states (nonce, organization_id, integration_id, token_id, redirect_uri, expires_at)
VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6));

-- name: oauth_state_usable
-- A state the callback may use: unused, unexpired, for this integration, and asked for by a token that still
-- authenticates (not revoked, not expired).
SELECT s.nonce, s.organization_id, s.integration_id
FROM oauth_states s
JOIN api_tokens t ON t.id = s.token_id
WHERE s.nonce = $1 AND s.integration_id = $2 AND s.used_at IS NULL AND s.expires_at > now()
  AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now());

-- name: oauth_state_consume
-- In the callback's transaction: exactly one callback consumes a state.
UPDATE oauth_states SET used_at = now() WHERE nonce = $1 AND used_at IS NULL AND expires_at > now() RETURNING nonce;

-- name: integration_webhook_secret_init
-- A WooCommerce store is connected and the integration has no webhook secret yet: nfsync's own, generated once
-- (a concurrent connect that set one first wins; the caller then reads that one).
UPDATE marketplace_integrations SET webhook_secret = $3
WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2) AND webhook_secret IS NULL
RETURNING *;

-- name: shop_webhooks_error
-- The outcome of registering a WooCommerce store's webhooks: the error to show on the shop, or NULL to clear a
-- previous registration error (other errors of the shop are left alone).
UPDATE marketplace_shops
SET error_message = CASE WHEN $3::text IS NOT NULL THEN $3::text
                         WHEN error_message LIKE 'webhooks not registered:%' THEN NULL
                         ELSE error_message END
WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2)
RETURNING *;

-- name: shops_of_integration
SELECT s.* FROM marketplace_shops s JOIN marketplace_accounts a ON a.id = s.account_id
WHERE a.integration_id = $1 AND ($2::uuid IS NULL OR s.organization_id = $2)
ORDER BY s.created_at, s.id;
