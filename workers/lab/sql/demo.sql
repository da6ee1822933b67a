-- `nfsync demo` (workers/demo.py): what the live view and the summary read from the demo's own database.

-- name: demo_tasks
-- The demo's newest $1 tasks, oldest first (one progress bar each).
SELECT * FROM (
    SELECT t.id, t.platform, t.task_type, t.direction, t.status, t.total_items, t.processed_items, t.created_at,
           s.shop_id AS platform_shop_id
    FROM sync_tasks t
    LEFT JOIN marketplace_shops s ON s.id = t.shop_id
    ORDER BY t.created_at DESC, t.id DESC
    LIMIT $1
) newest
ORDER BY created_at, id;

-- name: demo_tasks_by_id
SELECT id, shop_id, platform, task_type, status, successful_items, failed_items, error_message, result, started_at,
       completed_at
FROM sync_tasks
WHERE id = ANY ($1::uuid[]);

-- name: demo_listed_variants
-- CRM variants listed (mapped, active) per shop.
SELECT shop_id, count(*)::int AS variants
FROM product_mappings
WHERE shop_id = ANY ($1::uuid[]) AND status = 'active'
GROUP BY shop_id;

-- name: demo_failed_items
-- A task's failed items, with their reasons.
SELECT entity_id, error_message FROM sync_logs WHERE task_id = $1 AND status = 'failed' ORDER BY created_at, id;

-- name: demo_order_copies
-- How many CRM orders each placed marketplace order became: $1 platforms, $2 shops, $3 order ids.
SELECT o.platform, o.shop, o.order_id, count(s.id)::int AS copies
FROM unnest($1::text[], $2::text[], $3::text[]) AS o(platform, shop, order_id)
LEFT JOIN "SalesOrder" s
       ON s."sourcePlatform" = o.platform AND s."sourceShopId" = o.shop AND s."externalOrderId" = o.order_id
GROUP BY o.platform, o.shop, o.order_id;

-- name: demo_orders_total
SELECT count(*)::int FROM "SalesOrder";

-- name: demo_stock_set
-- A CRM stock change: new on-hand quantities; returns what each variant now has available.
UPDATE "StockLevel" l
SET "onHand" = u.on_hand, "modifiedAt" = now()
FROM unnest($1::text[], $2::numeric[]) AS u(variant_id, on_hand)
WHERE l."variantId" = u.variant_id
RETURNING l."variantId" AS variant_id, (l."onHand" - l.reserved)::int AS available;

-- name: demo_stock_set_available
-- A CRM stock change leaving $2 units available of variant $1 (on hand = reserved + $2).
UPDATE "StockLevel" SET "onHand" = reserved + $2, "modifiedAt" = now() WHERE "variantId" = $1;
