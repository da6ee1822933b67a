-- CRM customers (workers/crm_customers.py, issue #18): the "Customer" stand-in and the buyer data of "SalesOrder".
-- Personal columns hold enc:v1 ciphertexts written by the caller; nothing here sees a plaintext value.

-- name: crm_customer_find_for_update
-- The live customer of merchant $1 on platform $2 under any of the buyer keys $3 (a guest has one per key id),
-- locked for the merge.
SELECT id, name, email, phone, address, "maskedFields" AS masked, "sourceUpdatedAt" AS source_updated_at
FROM "Customer"
WHERE "merchantId" = $1 AND "sourcePlatform" = $2 AND "platformBuyerId" = ANY ($3::text[]) AND "deletedAt" IS NULL
ORDER BY "createdAt", id
LIMIT 1
FOR UPDATE;

-- name: crm_customer_insert
-- A new customer; concurrent imports of one buyer's orders meet on "Customer_buyer_key" and all but one insert
-- nothing (the caller then reads the winner with crm_customer_find_for_update).
INSERT INTO "Customer" ("merchantId", "sourcePlatform", "platformBuyerId", identifier, "createdBy", "modifiedBy")
VALUES ($1, $2, $3, $2 || ':' || $3, 'nfsync', 'nfsync')
ON CONFLICT ("merchantId", "sourcePlatform", "platformBuyerId") WHERE "deletedAt" IS NULL DO NOTHING;

-- name: crm_customer_update
-- The merged values ($2..$5 ciphertexts or NULL, $6 masked fields), the platform time of the data $7 and the order
-- time $8 (both only move forward).
UPDATE "Customer"
SET name = $2, email = $3, phone = $4, address = $5, "maskedFields" = $6::text[],
    "sourceUpdatedAt" = greatest("sourceUpdatedAt", $7), "lastOrderAt" = greatest("lastOrderAt", $8),
    "modifiedAt" = now(), "modifiedBy" = 'nfsync'
WHERE id = $1;

-- name: crm_order_set_customer
-- The order's buyer: the customer it belongs to and the platform's buyer fields as ciphertexts ($3 jsonb).
UPDATE "SalesOrder" SET "customerId" = $2, buyer = $3, "modifiedAt" = now() WHERE id = $1;

-- name: crm_order_buyer_erased
-- Whether order $1's buyer data was erased (a data-subject erasure): a later sight of the order must not bring it
-- back.
SELECT coalesce(buyer @> '{"erased": true}'::jsonb, false) FROM "SalesOrder" WHERE id = $1;

-- name: crm_customer_list
-- The customers of organization $1's merchants (every organization's when NULL), keyset-paged by id ($7 after).
-- Filters (NULL = any): $2 platform, $3 merchant, $4 shop (marketplace_shops.id: customers with an order there),
-- $5 modified after.
SELECT c.id, c."merchantId" AS merchant_id, om.organization_id, c."sourcePlatform" AS platform,
       c."platformBuyerId" AS platform_buyer_id, c.name, c.email, c.phone, c.address, c."maskedFields" AS masked,
       c."createdAt" AS created_at, c."modifiedAt" AS updated_at, c."lastOrderAt" AS last_order_at,
       (SELECT count(*) FROM "SalesOrder" o WHERE o."customerId" = c.id)::int AS orders
FROM "Customer" c
JOIN organization_merchants om ON om.merchant_id = c."merchantId"
WHERE c."deletedAt" IS NULL
  AND ($1::uuid IS NULL OR om.organization_id = $1)
  AND ($2::text IS NULL OR c."sourcePlatform" = $2)
  AND ($3::text IS NULL OR c."merchantId" = $3)
  AND ($4::uuid IS NULL OR EXISTS (
        SELECT 1 FROM "SalesOrder" o JOIN marketplace_shops s ON s.id = $4
        WHERE o."customerId" = c.id AND o."sourcePlatform" = s.platform AND o."sourceShopId" = s.shop_id))
  AND ($5::timestamptz IS NULL OR c."modifiedAt" > $5)
  AND ($6::text IS NULL OR c.id > $6)
ORDER BY c.id
LIMIT $7;

-- name: crm_customer_get
SELECT c.id, c."merchantId" AS merchant_id, om.organization_id, c."sourcePlatform" AS platform,
       c."platformBuyerId" AS platform_buyer_id, c.name, c.email, c.phone, c.address, c."maskedFields" AS masked,
       c."createdAt" AS created_at, c."modifiedAt" AS updated_at, c."lastOrderAt" AS last_order_at,
       (SELECT count(*) FROM "SalesOrder" o WHERE o."customerId" = c.id)::int AS orders
FROM "Customer" c
JOIN organization_merchants om ON om.merchant_id = c."merchantId"
WHERE c.id = $1 AND c."deletedAt" IS NULL AND ($2::uuid IS NULL OR om.organization_id = $2);

-- name: crm_customer_lock_for_erasure
-- The live customer $1 of organization $2 (any when NULL), locked; its organization for the erasure record.
SELECT c.id, c."merchantId" AS merchant_id, om.organization_id
FROM "Customer" c
JOIN organization_merchants om ON om.merchant_id = c."merchantId"
WHERE c.id = $1 AND c."deletedAt" IS NULL AND ($2::uuid IS NULL OR om.organization_id = $2)
FOR UPDATE OF c;

-- name: crm_customer_erase_orders
-- Anonymises the buyer data and addresses of every order of customer $1; returns how many.
WITH erased AS (
    UPDATE "SalesOrder" SET buyer = '{"erased": true}'::jsonb, "shippingAddress" = NULL, "modifiedAt" = now()
    WHERE "customerId" = $1
    RETURNING 1
)
SELECT count(*)::int FROM erased;

-- name: crm_customer_erase
-- Anonymises customer $1 and soft-deletes it (a later order of the same buyer makes a new customer).
UPDATE "Customer"
SET name = NULL, email = NULL, phone = NULL, address = NULL, "maskedFields" = '{}', metadata = NULL,
    identifier = NULL, "platformBuyerId" = 'erased:' || id, status = 'ERASED', "deletedAt" = now(),
    "modifiedAt" = now(), "modifiedBy" = 'nfsync'
WHERE id = $1;

-- name: crm_customer_erasure_record
INSERT INTO customer_erasures (organization_id, customer_id, merchant_id, requested_by, reason, orders)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, erased_at;

-- name: crm_customers_past_retention
-- Live customers whose last order (or creation, without one) is more than $1 days old, oldest first, at most $2.
SELECT id
FROM "Customer"
WHERE "deletedAt" IS NULL AND coalesce("lastOrderAt", "createdAt") < now() - make_interval(days => $1)
ORDER BY coalesce("lastOrderAt", "createdAt"), id
LIMIT $2;

-- name: crm_customer_orders_of_shop
-- Stored orders of shop $1 (platform $2, platform shop id $3) with their buyer ciphertexts, keyset-paged by id
-- ($4 after, $5 limit): customer_sync re-derives customers from them where the platform has no buyer API.
SELECT o.id, o."merchantId" AS merchant_id, o.buyer, o."placedAt" AS placed_at, m.platform_updated_at
FROM "SalesOrder" o
JOIN order_mappings m ON m.crm_order_id = o.id AND m.shop_id = $1
WHERE o."sourcePlatform" = $2 AND o."sourceShopId" = $3 AND o.id > $4
  AND jsonb_typeof(o.buyer) = 'object' AND NOT o.buyer ? 'erased'
ORDER BY o.id
LIMIT $5;

-- name: crm_order_link_customer
UPDATE "SalesOrder" SET "customerId" = $2 WHERE id = $1 AND "customerId" IS DISTINCT FROM $2;
