-- /v1/mappings and /v1/shops/{id}/unmatched (workers/api/mappings.py), on the tenant pool ($org NULL: operator).

-- name: mapping_list
-- Keyset pages by id; every filter optional.
SELECT id, shop_id, integration_id, platform, product_id, variant_id, platform_item_id, platform_variant_id,
       platform_sku, status, origin, last_pushed_price, last_pushed_stock, last_pushed_at, last_pulled_at,
       error_message, created_at, updated_at
FROM product_mappings
WHERE ($1::uuid IS NULL OR organization_id = $1)
  AND ($2::uuid IS NULL OR shop_id = $2) AND ($3::text IS NULL OR product_id = $3)
  AND ($4::text IS NULL OR variant_id = $4) AND ($5::text IS NULL OR platform_item_id = $5)
  AND ($6::text IS NULL OR status = $6) AND ($7::uuid IS NULL OR id > $7)
ORDER BY id
LIMIT $8;

-- name: mapping_get
SELECT id, shop_id, integration_id, platform, product_id, variant_id, platform_item_id, platform_variant_id,
       platform_sku, status, origin, last_pushed_price, last_pushed_stock, last_pushed_at, last_pulled_at,
       error_message, created_at, updated_at
FROM product_mappings WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2);

-- name: mapping_conflicts
-- What already holds either side of a link in the shop: the CRM variant $2, or the platform variant ($3, $4).
SELECT id, variant_id, platform_item_id, platform_variant_id, status
FROM product_mappings
WHERE shop_id = $1 AND status <> 'deleted'
  AND (variant_id = $2 OR (platform_item_id = $3 AND platform_variant_id IS NOT DISTINCT FROM $4));

-- name: mapping_variant_of_merchant
-- The CRM variant $1 when it is a live variant of merchant $2 (the shop's sale channel's), with its product.
SELECT v.id AS variant_id, v."productId" AS product_id
FROM "ProductVariant" v
JOIN "Product" p ON p.id = v."productId" AND p."merchantId" = $2 AND p."deletedAt" IS NULL
WHERE v.id = $1 AND v."deletedAt" IS NULL;

-- name: mapping_link
-- A link made by hand: the listing's current price and stock count as pushed (an unchanged CRM writes nothing);
-- a deleted mapping of the variant is replaced.
INSERT INTO product_mappings AS m (organization_id, integration_id, shop_id, platform, product_id, variant_id,
                                   platform_item_id, platform_variant_id, platform_sku, status, last_pushed_price,
                                   last_pushed_stock, price_pushed_at, stock_pushed_at, last_pulled_at, origin)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $11, now(), now(), now(), 'linked')
ON CONFLICT (shop_id, variant_id) DO UPDATE
SET product_id = EXCLUDED.product_id, platform_item_id = EXCLUDED.platform_item_id,
    platform_variant_id = EXCLUDED.platform_variant_id, platform_sku = EXCLUDED.platform_sku, status = 'active',
    last_pushed_hash = NULL, last_pushed_fields = NULL, last_pushed_price = EXCLUDED.last_pushed_price,
    last_pushed_stock = EXCLUDED.last_pushed_stock, price_pushed_at = now(), stock_pushed_at = now(),
    last_pulled_at = now(), error_message = NULL, origin = 'linked', updated_at = now()
WHERE m.status = 'deleted'
RETURNING id;

-- name: mapping_unlink
DELETE FROM product_mappings WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2) RETURNING id;

-- name: unmatched_last_pull
-- The shop's last finished pull (product_sync marketplace_to_crm).
SELECT id, completed_at FROM sync_tasks
WHERE shop_id = $1 AND task_type = 'product_sync' AND direction = 'marketplace_to_crm'
  AND status IN ('completed', 'failed')
ORDER BY completed_at DESC NULLS LAST
LIMIT 1;

-- name: unmatched_of_task
-- The platform SKUs that pull could not match, minus those linked since; at most $3 after offset $4.
SELECT l.platform_entity_id, l.details
FROM sync_logs l
WHERE l.task_id = $1 AND l.action = 'match' AND l.status = 'skipped'
  AND NOT EXISTS (
      SELECT 1 FROM product_mappings m
      WHERE m.shop_id = $2 AND m.status <> 'deleted'
        AND m.platform_item_id = l.details ->> 'platform_item_id'
        AND m.platform_variant_id IS NOT DISTINCT FROM l.details ->> 'platform_variant_id')
ORDER BY l.created_at, l.id
LIMIT $3 OFFSET $4;

-- name: unmatched_suggestions
-- CRM variants of merchant $1 whose SKU, normalised (upper case, letters and digits only), is one of $2, or whose
-- BARCODE identifier is one of $3.
SELECT i.scheme, i.identifier, upper(regexp_replace(i.identifier, '[^[:alnum:]]', '', 'g')) AS normalised,
       v.id AS variant_id, v."productId" AS product_id
FROM "ProductIdentifier" i
JOIN "ProductVariant" v ON v.id = i."principalId" AND v."deletedAt" IS NULL
JOIN "Product" p ON p.id = v."productId" AND p."merchantId" = $1 AND p."deletedAt" IS NULL
WHERE i."principalType" = 'ProductVariant' AND i."deletedAt" IS NULL
  AND ((i.scheme = 'SKU' AND upper(regexp_replace(i.identifier, '[^[:alnum:]]', '', 'g')) = ANY ($2::text[]))
       OR (i.scheme = 'BARCODE' AND i.identifier = ANY ($3::text[])))
ORDER BY v.id
LIMIT 1000;
