-- The sync handlers (workers/sync/): shop context, product and order mappings, cursors, webhook orders, changes.

-- name: sync_shop_context
-- Everything a handler needs about its shop: the shop, its integration (config, credentials) and account.
SELECT s.id AS shop_id, s.organization_id, s.account_id, s.platform, s.shop_id AS platform_shop_id, s.shop_name,
       s.shop_url, s.shop_region, s.shop_data, s.shop_status, s.sale_channel_id, s.order_cursor_at,
       a.status AS account_status, a.auth_type,
       i.id, i.platform AS integration_platform, i.status AS integration_status, i.config, i.credentials,
       i.webhook_secret, i.api_base_url, i.rate_limit
FROM marketplace_shops s
JOIN marketplace_accounts a ON a.id = s.account_id
JOIN marketplace_integrations i ON i.id = a.integration_id
WHERE s.id = $1;

-- name: sync_mappings_of_shop
SELECT variant_id, product_id, platform_item_id, platform_variant_id, platform_sku, status, last_pushed_hash,
       last_pushed_price, last_pushed_stock, origin, last_pushed_fields::text AS last_pushed_fields
FROM product_mappings WHERE shop_id = $1;

-- name: sync_mappings_free
-- A platform variant about to be mapped to another CRM variant (its SKU moved) is unmapped first.
DELETE FROM product_mappings m
USING unnest($2::text[], $3::text[], $4::text[]) AS r(platform_item_id, platform_variant_id, variant_id)
WHERE m.shop_id = $1 AND m.platform_item_id = r.platform_item_id
  AND m.platform_variant_id IS NOT DISTINCT FROM r.platform_variant_id AND m.variant_id <> r.variant_id;

-- name: sync_mappings_upsert
-- Records listings pushed or matched: one row per (shop, CRM variant). NULL hash/price/stock/fields keep the old
-- value. $14 origin (created, adopted, pulled) is kept from the first link unless the old mapping was deleted.
WITH rows AS (
    SELECT * FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::numeric[],
                         $12::int[], $13::text[], $14::text[], $15::jsonb[])
        AS r(product_id, variant_id, platform_item_id, platform_variant_id, platform_sku, hash, price, stock, status,
             origin, fields)
)
INSERT INTO product_mappings AS m (organization_id, integration_id, shop_id, platform, product_id, variant_id,
                                   platform_item_id, platform_variant_id, platform_sku, status, last_pushed_hash,
                                   last_pushed_at, last_pushed_price, last_pushed_stock, price_pushed_at,
                                   stock_pushed_at, last_pulled_at, error_message, origin, last_pushed_fields)
SELECT $1, $2, $3, $4, r.product_id, r.variant_id, r.platform_item_id, r.platform_variant_id, r.platform_sku,
       r.status, r.hash, CASE WHEN r.hash IS NULL THEN NULL ELSE now() END, r.price, r.stock,
       CASE WHEN r.price IS NULL THEN NULL ELSE now() END, CASE WHEN r.stock IS NULL THEN NULL ELSE now() END,
       CASE WHEN r.origin = 'pulled' THEN now() END, NULL, r.origin, r.fields
FROM rows r
ON CONFLICT (shop_id, variant_id) DO UPDATE
SET product_id = EXCLUDED.product_id, platform_item_id = EXCLUDED.platform_item_id,
    platform_variant_id = EXCLUDED.platform_variant_id, platform_sku = EXCLUDED.platform_sku,
    status = EXCLUDED.status, error_message = NULL,
    origin = CASE WHEN m.status = 'deleted' OR m.platform_item_id <> EXCLUDED.platform_item_id
                  THEN EXCLUDED.origin ELSE m.origin END,
    last_pushed_hash = coalesce(EXCLUDED.last_pushed_hash, m.last_pushed_hash),
    last_pushed_fields = coalesce(EXCLUDED.last_pushed_fields, m.last_pushed_fields),
    last_pushed_at = coalesce(EXCLUDED.last_pushed_at, m.last_pushed_at),
    last_pushed_price = coalesce(EXCLUDED.last_pushed_price, m.last_pushed_price),
    price_pushed_at = coalesce(EXCLUDED.price_pushed_at, m.price_pushed_at),
    last_pushed_stock = coalesce(EXCLUDED.last_pushed_stock, m.last_pushed_stock),
    stock_pushed_at = coalesce(EXCLUDED.stock_pushed_at, m.stock_pushed_at),
    last_pulled_at = coalesce(EXCLUDED.last_pulled_at, m.last_pulled_at),
    updated_at = now();

-- name: sync_mappings_pushed
-- Values accepted by the platform: $2 variants, $3 prices (NULL = unchanged), $4 stocks, $5 status.
UPDATE product_mappings m
SET last_pushed_price = coalesce(u.price, m.last_pushed_price),
    price_pushed_at = CASE WHEN u.price IS NULL THEN m.price_pushed_at ELSE now() END,
    last_pushed_stock = coalesce(u.stock, m.last_pushed_stock),
    stock_pushed_at = CASE WHEN u.stock IS NULL THEN m.stock_pushed_at ELSE now() END,
    status = coalesce(u.status, m.status), error_message = NULL, updated_at = now()
FROM unnest($2::text[], $3::numeric[], $4::int[], $5::text[]) AS u(variant_id, price, stock, status)
WHERE m.shop_id = $1 AND m.variant_id = u.variant_id;

-- name: sync_mappings_failed
UPDATE product_mappings m SET error_message = u.message, updated_at = now()
FROM unnest($2::text[], $3::text[]) AS u(variant_id, message)
WHERE m.shop_id = $1 AND m.variant_id = u.variant_id;

-- name: sync_mappings_mark_deleted
UPDATE product_mappings SET status = 'deleted', updated_at = now()
WHERE shop_id = $1 AND platform_item_id = ANY ($2::text[]) AND status <> 'deleted'
RETURNING variant_id, platform_item_id;

-- name: sync_webhook_orders
-- Order ids of the pushes that asked for this task (the webhook_orders contract of workers/api/webhooks.py).
SELECT DISTINCT entity_id FROM marketplace_webhooks
WHERE task_id = $1 AND event_type = 'order_status_changed' AND entity_id IS NOT NULL;

-- name: sync_order_mapping_for_update
SELECT id, crm_order_id, platform_status, crm_status, platform_updated_at, metadata
FROM order_mappings WHERE shop_id = $1 AND platform_order_id = $2
FOR UPDATE;

-- name: sync_order_mapping_insert
INSERT INTO order_mappings (organization_id, integration_id, shop_id, platform, platform_order_id, crm_order_id,
                            platform_status, crm_status, platform_updated_at, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: sync_order_mapping_update
UPDATE order_mappings
SET platform_status = $2, crm_status = $3, platform_updated_at = $4, metadata = $5, last_synced_at = now(),
    sync_count = sync_count + 1
WHERE id = $1;

-- name: sync_order_mapping_seen
UPDATE order_mappings SET last_synced_at = now(), sync_count = sync_count + 1 WHERE id = $1;

-- name: sync_order_cursor_advance
UPDATE marketplace_shops SET order_cursor_at = greatest(coalesce(order_cursor_at, $2), $2) WHERE id = $1;

-- name: sync_variants_of_mappings
-- CRM variants of platform variants already mapped in this shop (order lines).
SELECT platform_item_id, platform_variant_id, platform_sku, variant_id
FROM product_mappings WHERE shop_id = $1 AND (platform_sku = ANY ($2::text[]) OR platform_item_id = ANY ($3::text[]));

-- name: sync_shop_refresh
UPDATE marketplace_shops
SET shop_name = $2, shop_status = CASE WHEN shop_status = 'inactive' THEN shop_status ELSE $3 END,
    shop_region = coalesce($4, shop_region), shop_url = coalesce($5, shop_url), shop_logo = coalesce($6, shop_logo),
    shop_rating = coalesce($7, shop_rating), shop_created_at = coalesce($8, shop_created_at),
    shop_data = coalesce(shop_data, '{}'::jsonb) || $9::jsonb
WHERE id = $1;

-- name: sync_account_refresh
UPDATE marketplace_accounts SET metadata = coalesce(metadata, '{}'::jsonb) || $2::jsonb WHERE id = $1;

-- name: sync_shop_state
-- The shop's sync_status / last_sync_at / error_message after a task; a success ends a stale spell.
UPDATE marketplace_shops
SET sync_status = $2, last_sync_at = CASE WHEN $2 = 'synced' THEN now() ELSE last_sync_at END, error_message = $3,
    stale_since = CASE WHEN $2 = 'synced' THEN NULL ELSE stale_since END
WHERE id = $1;

-- name: crm_changes_take
-- The oldest recorded CRM changes, with every active shop where the variant is listed, or where a combo containing
-- it (at any depth, within one merchant; workers/bundles.py) is listed after a stock change. A cycle stops at the
-- path's first repeat, and the combo's sync then fails it with the reason.
WITH RECURSIVE e AS (
    SELECT id, variant_id, kind FROM crm_change_events ORDER BY id LIMIT $1
), up (id, variant_id, kind, path) AS (
    SELECT id, variant_id, kind, ARRAY[variant_id] FROM e
    UNION ALL
    SELECT up.id, b."leadVariantId", up.kind, up.path || b."leadVariantId"
    FROM up
    JOIN "ProductBundler" b
      ON b."relatedVariantId" = up.variant_id AND b.type = '000_COMBO' AND b."deletedAt" IS NULL
    JOIN "ProductVariant" lv ON lv.id = b."leadVariantId"
    JOIN "Product" lp ON lp.id = lv."productId"
    JOIN "ProductVariant" rv ON rv.id = b."relatedVariantId"
    JOIN "Product" rp ON rp.id = rv."productId" AND rp."merchantId" = lp."merchantId"
    WHERE up.kind = 'stock' AND NOT b."leadVariantId" = ANY (up.path) AND cardinality(up.path) <= 16
)
SELECT DISTINCT up.id, up.variant_id, up.kind, m.organization_id, m.integration_id, m.shop_id
FROM up
LEFT JOIN product_mappings m ON m.variant_id = up.variant_id AND m.status = 'active'
LEFT JOIN marketplace_shops s ON s.id = m.shop_id
WHERE m.id IS NULL OR s.shop_status = 'active';

-- name: crm_changes_done
DELETE FROM crm_change_events WHERE id = ANY ($1::bigint[]);

-- name: reconcile_due_integrations
SELECT id, organization_id, platform, config FROM marketplace_integrations
WHERE status = 'active' AND (config ->> 'reconcile_interval') ~ '^[0-9]+$' AND (config ->> 'reconcile_interval')::int > 0
  AND (metadata ->> 'last_reconcile_at' IS NULL
       OR (metadata ->> 'last_reconcile_at')::timestamp
          + make_interval(mins => (config ->> 'reconcile_interval')::int) <= now())
LIMIT $1;

-- name: reconcile_touch
UPDATE marketplace_integrations
SET metadata = coalesce(metadata, '{}'::jsonb) || jsonb_build_object('last_reconcile_at', now()::timestamp)
WHERE id = $1;

-- name: reconcile_order_mappings
SELECT platform_order_id, platform_status, crm_order_id FROM order_mappings WHERE shop_id = $1;
