-- Queries of `nfsync keys rotate` (workers/keys.py). Each *_batch query locks the next rows (by id) holding
-- at least one value that is not on the primary key $1; each *_update writes them back re-encrypted.

-- name: keys_count_by_key_id
SELECT key_id, count(*)::int AS value_count
FROM (
    SELECT nfsync_secret_key_id(webhook_secret) FROM marketplace_integrations
    UNION ALL SELECT k FROM marketplace_integrations, nfsync_secret_key_ids(credentials) AS k
    UNION ALL SELECT nfsync_secret_key_id(access_token) FROM marketplace_accounts
    UNION ALL SELECT nfsync_secret_key_id(refresh_token) FROM marketplace_accounts
    UNION ALL SELECT k FROM marketplace_accounts, nfsync_secret_key_ids(auth_data) AS k
    UNION ALL SELECT nfsync_secret_key_id(credential) FROM "Configuration"
    UNION ALL SELECT nfsync_secret_key_id(secret) FROM event_subscriptions
    UNION ALL SELECT nfsync_secret_key_id(c.v) FROM "Customer", unnest(ARRAY[name, email, phone, address]) AS c(v)
    UNION ALL SELECT split_part("platformBuyerId", ':', 2) FROM "Customer" WHERE "platformBuyerId" LIKE 'email:%'
    UNION ALL SELECT k FROM "SalesOrder", nfsync_secret_key_ids(buyer) AS k
) AS s(key_id)
WHERE key_id IS NOT NULL
GROUP BY key_id
ORDER BY key_id;

-- name: keys_integrations_batch
SELECT id::text AS row_id, organization_id::text AS organization_id, credentials, webhook_secret
FROM marketplace_integrations
WHERE id::text > $2
  AND (nfsync_secret_key_id(webhook_secret) <> $1
       OR EXISTS (SELECT 1 FROM nfsync_secret_key_ids(credentials) AS k WHERE k <> $1))
ORDER BY id::text
LIMIT $3
FOR UPDATE;

-- name: keys_integrations_update
UPDATE marketplace_integrations SET credentials = $2, webhook_secret = $3 WHERE id = $1::uuid;

-- name: keys_accounts_batch
SELECT id::text AS row_id, organization_id::text AS organization_id, auth_data, access_token, refresh_token
FROM marketplace_accounts
WHERE id::text > $2
  AND (nfsync_secret_key_id(access_token) <> $1
       OR nfsync_secret_key_id(refresh_token) <> $1
       OR EXISTS (SELECT 1 FROM nfsync_secret_key_ids(auth_data) AS k WHERE k <> $1))
ORDER BY id::text
LIMIT $3
FOR UPDATE;

-- name: keys_accounts_update
UPDATE marketplace_accounts SET auth_data = $2, access_token = $3, refresh_token = $4 WHERE id = $1::uuid;

-- name: keys_configurations_batch
SELECT id AS row_id, coalesce("principalId", 'SYSTEM') AS organization_id, credential
FROM "Configuration"
WHERE id > $2 AND nfsync_secret_key_id(credential) <> $1
ORDER BY id
LIMIT $3
FOR UPDATE;

-- name: keys_configurations_update
UPDATE "Configuration" SET credential = $2 WHERE id = $1;

-- name: keys_subscriptions_batch
SELECT id::text AS row_id, organization_id::text AS organization_id, secret
FROM event_subscriptions
WHERE id::text > $2 AND nfsync_secret_key_id(secret) <> $1
ORDER BY id::text
LIMIT $3
FOR UPDATE;

-- name: keys_subscriptions_update
UPDATE event_subscriptions SET secret = $2 WHERE id = $1::uuid;

-- name: key_check_get
SELECT value FROM nfsync_key_check;

-- name: key_check_set
-- The first keyring to start writes the check; a concurrent first start keeps the row that won (re-read after).
INSERT INTO nfsync_key_check (value) VALUES ($1) ON CONFLICT (id) DO NOTHING;

-- name: key_check_rotate
UPDATE nfsync_key_check SET value = $1, updated_at = now();

-- name: keys_customers_batch
-- Customers' personal data (issue #18), bound to the merchant (the organization slot of the associated data).
SELECT id AS row_id, "merchantId" AS organization_id, name, email, phone, address
FROM "Customer"
WHERE id > $2
  AND EXISTS (SELECT 1 FROM unnest(ARRAY[name, email, phone, address]) AS c(v) WHERE nfsync_secret_key_id(c.v) <> $1)
ORDER BY id
LIMIT $3
FOR UPDATE;

-- name: keys_customers_update
UPDATE "Customer" SET name = $2, email = $3, phone = $4, address = $5 WHERE id = $1;

-- name: keys_sales_orders_batch
-- Orders' buyer data: fields on another key, and plaintext values stored before schema 17 (encrypted now).
SELECT id AS row_id, "merchantId" AS organization_id, buyer
FROM "SalesOrder"
WHERE id > $2
  AND jsonb_typeof(buyer) = 'object' AND NOT buyer ? 'erased'
  AND EXISTS (SELECT 1 FROM jsonb_each(buyer) AS e(k, v)
              WHERE jsonb_typeof(e.v) <> 'string' OR coalesce(nfsync_secret_key_id(e.v #>> '{}'), '') <> $1)
ORDER BY id
LIMIT $3
FOR UPDATE;

-- name: keys_sales_orders_update
UPDATE "SalesOrder" SET buyer = $2 WHERE id = $1;

-- name: keys_guest_customers_batch
-- Guest customers keyed by an e-mail hash under another key than the primary $1: re-keyed from their e-mail.
SELECT id, "merchantId" AS merchant_id, email
FROM "Customer"
WHERE id > $2 AND "deletedAt" IS NULL AND "platformBuyerId" LIKE 'email:%'
  AND split_part("platformBuyerId", ':', 2) <> $1
ORDER BY id
LIMIT $3
FOR UPDATE;

-- name: keys_guest_customer_rekey
UPDATE "Customer" SET "platformBuyerId" = $2 WHERE id = $1;
