-- `nfsync demo` (workers/demo.py): what the live view and the summary read from the demo's own database.

-- name: demo_tasks
-- Every task of the demo, oldest first: one progress bar each.
SELECT t.id, t.shop_id, t.platform, t.task_type, t.status, t.total_items, t.processed_items, t.successful_items,
       t.failed_items, t.error_message, t.result, t.started_at, t.completed_at, s.shop_id AS platform_shop_id
FROM sync_tasks t
LEFT JOIN marketplace_shops s ON s.id = t.shop_id
ORDER BY t.created_at, t.id
LIMIT $1;

-- name: demo_shop_calls
-- Marketplace calls and throttled answers per shop, over all of its finished tasks.
SELECT shop_id, count(*)::int AS tasks,
       coalesce(sum((result ->> 'calls')::int), 0)::int AS calls,
       coalesce(sum((result ->> 'throttled')::int), 0)::int AS throttled
FROM sync_tasks
WHERE shop_id = ANY ($1::uuid[]) AND result IS NOT NULL
GROUP BY shop_id;

-- name: demo_listed_variants
-- CRM variants listed (mapped, active) per shop.
SELECT shop_id, count(*)::int AS variants
FROM product_mappings
WHERE shop_id = ANY ($1::uuid[]) AND status = 'active'
GROUP BY shop_id;

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
