-- CRM reads and writes (workers/crm.py): the @nx/core catalog plus the stand-ins for prices, stock and orders.
-- Every CRM access of nfsync is one of these statements.

-- name: crm_channel_variants
-- One row per variant of the products of a sale channel, with what a listing needs. Filters (NULL = any):
-- $2 product ids, $3 variant ids, $4 category ids, $5 modified after, $6 product statuses; $7 currency,
-- $8 locale, $10 whether to add the available quantity per stock location (by_location). Inactive and
-- soft-deleted rows are returned too (flagged): the caller delists what is mapped. A variant's options come as two
-- arrays in option order (text arrays decode without JSON: crm.options_of builds the dict).
SELECT p.id AS product_id, p.slug AS product_slug, p."categoryId" AS category_id,
       (p.status = 'ACTIVATED' AND p."deletedAt" IS NULL AND scp.id IS NOT NULL) AS product_active,
       coalesce(pi.name ->> $8, pi.name ->> 'en', pi.name ->> 'vi', p.slug) AS product_name,
       coalesce(pi.description ->> $8, pi.description ->> 'en', pi.description ->> 'vi', '') AS product_description,
       v.id AS variant_id,
       (v.status = 'ACTIVATED' AND v."deletedAt" IS NULL) AS variant_active,
       sku.identifier AS sku,
       pr.amount AS price,
       coalesce(st.on_hand, 0) AS on_hand, coalesce(st.reserved, 0) AS reserved, st.by_location,
       opts.option_names, opts.option_values
FROM "Product" p
LEFT JOIN "SaleChannelProduct" scp
       ON scp."productId" = p.id AND scp."saleChannelId" = $1 AND scp."deletedAt" IS NULL
JOIN "ProductVariant" v ON v."productId" = p.id
LEFT JOIN "ProductInfo" pi
       ON pi."principalType" = 'Product' AND pi."principalId" = p.id AND pi."deletedAt" IS NULL
LEFT JOIN LATERAL (
    SELECT i.identifier FROM "ProductIdentifier" i
    WHERE i."principalType" = 'ProductVariant' AND i."principalId" = v.id AND i.scheme = 'SKU' AND i."deletedAt" IS NULL
    ORDER BY i."createdAt", i.id LIMIT 1
) sku ON true
LEFT JOIN "VariantPrice" pr ON pr."variantId" = v.id AND pr.currency = $7 AND pr."deletedAt" IS NULL
LEFT JOIN LATERAL (
    SELECT sum(s."onHand") AS on_hand, sum(s.reserved) AS reserved,
           CASE WHEN $10::boolean THEN jsonb_object_agg(s."locationId", greatest(s."onHand" - s.reserved, 0)) END AS by_location
    FROM "StockLevel" s WHERE s."variantId" = v.id
) st ON true
LEFT JOIN LATERAL (
    SELECT array_agg(coalesce(o.name ->> $8, o.name ->> 'en', o.key) ORDER BY o.sequence) AS option_names,
           array_agg(coalesce(ov.name ->> $8, ov.name ->> 'en', ov.value) ORDER BY o.sequence) AS option_values
    FROM "ProductVariantOption" pvo
    JOIN "ProductOption" o ON o.id = pvo."optionId"
    JOIN "ProductOptionValue" ov ON ov.id = pvo."optionValueId"
    WHERE pvo."productVariantId" = v.id AND pvo."deletedAt" IS NULL
) opts ON true
WHERE p.id IN (
    SELECT c."productId" FROM "SaleChannelProduct" c WHERE c."saleChannelId" = $1
    UNION
    SELECT m.product_id FROM product_mappings m WHERE m.shop_id = $9
)
  AND ($2::text[] IS NULL OR p.id = ANY ($2))
  AND ($3::text[] IS NULL OR v.id = ANY ($3))
  AND ($4::text[] IS NULL OR p."categoryId" = ANY ($4))
  AND ($5::timestamptz IS NULL OR greatest(p."modifiedAt", v."modifiedAt", pi."modifiedAt", pr."modifiedAt") > $5)
  AND ($6::text[] IS NULL OR p.status = ANY ($6))
ORDER BY p.id, v."isDefault" DESC, v."createdAt", v.id;

-- name: crm_variant_values
-- Available quantity and price of the given variants (all mapped variants of a shop when $1 is NULL), for
-- inventory_sync and price_sync. $2 shop, $3 currency, $4 whether to add the available quantity per stock
-- location (by_location).
SELECT m.variant_id, m.product_id, m.platform_item_id, m.platform_variant_id, m.platform_sku,
       m.last_pushed_price, m.last_pushed_stock, m.status AS mapping_status,
       (v.status = 'ACTIVATED' AND v."deletedAt" IS NULL AND p.status = 'ACTIVATED' AND p."deletedAt" IS NULL
        AND EXISTS (SELECT 1 FROM "SaleChannelProduct" c JOIN marketplace_shops s ON s.sale_channel_id = c."saleChannelId"
                    WHERE s.id = $2 AND c."productId" = p.id AND c."deletedAt" IS NULL)) AS active,
       pr.amount AS price,
       coalesce(st.on_hand, 0) AS on_hand, coalesce(st.reserved, 0) AS reserved, st.by_location
FROM product_mappings m
JOIN "ProductVariant" v ON v.id = m.variant_id
JOIN "Product" p ON p.id = v."productId"
LEFT JOIN "VariantPrice" pr ON pr."variantId" = v.id AND pr.currency = $3 AND pr."deletedAt" IS NULL
LEFT JOIN LATERAL (
    SELECT sum(s."onHand") AS on_hand, sum(s.reserved) AS reserved,
           CASE WHEN $4::boolean THEN jsonb_object_agg(s."locationId", greatest(s."onHand" - s.reserved, 0)) END AS by_location
    FROM "StockLevel" s WHERE s."variantId" = v.id
) st ON true
WHERE m.shop_id = $2 AND m.status IN ('active', 'delisted') AND ($1::text[] IS NULL OR m.variant_id = ANY ($1))
ORDER BY m.platform_item_id, m.platform_variant_id;

-- name: crm_variants_by_sku
-- CRM variants of a merchant by seller SKU (identifier scheme SKU): matching listings and order lines.
SELECT i.identifier AS sku, v.id AS variant_id, v."productId" AS product_id
FROM "ProductIdentifier" i
JOIN "ProductVariant" v ON v.id = i."principalId" AND v."deletedAt" IS NULL
JOIN "Product" p ON p.id = v."productId" AND p."merchantId" = $1 AND p."deletedAt" IS NULL
WHERE i."principalType" = 'ProductVariant' AND i.scheme = 'SKU' AND i."deletedAt" IS NULL
  AND i.identifier = ANY ($2::text[]);

-- name: crm_channel_merchant
-- The tenant boundary of every CRM read and write: a sale channel counts only when its merchant is linked to the
-- shop's organization $2 (organization_merchants).
SELECT c.id, c."merchantId" AS merchant_id, m.currency
FROM "SaleChannel" c
JOIN "Merchant" m ON m.id = c."merchantId"
JOIN organization_merchants om ON om.merchant_id = c."merchantId" AND om.organization_id = $2
WHERE c.id = $1 AND c."deletedAt" IS NULL;

-- name: crm_order_insert
-- A marketplace order imported once: the unique (sourcePlatform, sourceShopId, externalOrderId) decides.
INSERT INTO "SalesOrder" ("merchantId", "saleChannelId", "sourcePlatform", "sourceShopId", "externalOrderId", status,
                          currency, subtotal, "shippingFee", total, buyer, "placedAt", identifier)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $3 || ':' || $5)
ON CONFLICT ("sourcePlatform", "sourceShopId", "externalOrderId") DO NOTHING
RETURNING id;

-- name: crm_order_by_source
SELECT id, status FROM "SalesOrder" WHERE "sourcePlatform" = $1 AND "sourceShopId" = $2 AND "externalOrderId" = $3;

-- name: crm_order_update
-- The buyer stays as it is unless $6 gives one: crm_customers.attach_to_order seals it (and keeps an erased buyer
-- erased).
UPDATE "SalesOrder" SET status = $2, subtotal = $3, "shippingFee" = $4, total = $5, buyer = coalesce($6, buyer)
WHERE id = $1;

-- name: crm_order_lines_delete
DELETE FROM "SalesOrderLine" WHERE "orderId" = $1;

-- name: crm_order_lines_insert
-- The lines as the platform has them now (after crm_order_lines_delete, in the order's transaction).
INSERT INTO "SalesOrderLine" ("orderId", "lineNo", "variantId", sku, name, quantity, "unitPrice", total,
                              "externalLineId")
SELECT $1, l.line_no, l.variant_id, l.sku, l.name, l.quantity, l.unit_price, l.quantity * l.unit_price, l.line_id
FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::numeric[], $8::text[])
     AS l(line_no, variant_id, sku, name, quantity, unit_price, line_id);

-- name: crm_stock_adjust
-- Moves reserved and on-hand quantity of variants at the default location (an order reserving, shipping or
-- releasing stock). $1 variant ids, $2 reserved deltas, $3 on-hand deltas, $4 merchant.
WITH d AS (
    SELECT x.variant_id, sum(x.reserved) AS reserved, sum(x.on_hand) AS on_hand
    FROM unnest($1::text[], $2::numeric[], $3::numeric[]) AS x(variant_id, reserved, on_hand)
    GROUP BY x.variant_id
)
INSERT INTO "StockLevel" ("variantId", "merchantId", "locationId", "onHand", reserved)
SELECT d.variant_id, $4, 'default', d.on_hand, greatest(d.reserved, 0) FROM d
ON CONFLICT ("variantId", "locationId") DO UPDATE
SET reserved = greatest("StockLevel".reserved + (SELECT d.reserved FROM d WHERE d.variant_id = EXCLUDED."variantId"), 0),
    "onHand" = "StockLevel"."onHand" + (SELECT d.on_hand FROM d WHERE d.variant_id = EXCLUDED."variantId");

-- name: crm_merchant_link
-- Links merchant $1 to organization $2; returns the organization the merchant belongs to afterwards (another one
-- when it was already linked elsewhere: the caller refuses).
WITH added AS (
    INSERT INTO organization_merchants (merchant_id, organization_id) VALUES ($1, $2)
    ON CONFLICT (merchant_id) DO NOTHING
    RETURNING organization_id
)
SELECT organization_id FROM added
UNION ALL
SELECT organization_id FROM organization_merchants WHERE merchant_id = $1
LIMIT 1;

-- name: crm_merchant_shops
-- Shops whose sale channel belongs to merchant $1 (an unlink would stop their syncs).
SELECT count(*) FROM marketplace_shops s JOIN "SaleChannel" c ON c.id = s.sale_channel_id WHERE c."merchantId" = $1;

-- name: crm_merchant_unlink
DELETE FROM organization_merchants WHERE merchant_id = $1 RETURNING organization_id;

-- name: crm_merchants_of_organization
SELECT om.merchant_id, m.slug, om.created_at
FROM organization_merchants om JOIN "Merchant" m ON m.id = om.merchant_id
WHERE om.organization_id = $1
ORDER BY om.created_at, om.merchant_id;

-- name: crm_product_listing_metadata
-- A product's metadata.marketplace.<platform>: a listing profile layer the CRM may carry (workers/listing/content.py).
SELECT id AS product_id, metadata -> 'marketplace' -> $2::text AS profile
FROM "Product"
WHERE id = ANY($1::text[]) AND jsonb_typeof(metadata -> 'marketplace' -> $2::text) IS NOT NULL;

-- name: crm_bundle_rows
-- The live "ProductBundler" rows around variants $1 (workers/bundles.py): their 000_COMBO rows and, when $2 holds
-- '100_ADDON', their add-on rows, then the combo rows of every component below them (to depth 17; a cycle is cut
-- there and refused by the arithmetic). Only rows whose two variants belong to one merchant count. Plus one row of
-- kind 'typed' per variant among $1 whose type is 300_KIT or 301_COMBO (a bundle even without rows).
WITH RECURSIVE down (kind, lead, related, quantity, depth) AS (
    SELECT b.type, b."leadVariantId", b."relatedVariantId", b.quantity, 1
    FROM "ProductBundler" b
    JOIN "ProductVariant" lv ON lv.id = b."leadVariantId"
    JOIN "Product" lp ON lp.id = lv."productId"
    JOIN "ProductVariant" rv ON rv.id = b."relatedVariantId"
    JOIN "Product" rp ON rp.id = rv."productId" AND rp."merchantId" = lp."merchantId"
    WHERE b.type = ANY ($2::text[]) AND b."leadVariantId" = ANY ($1::text[]) AND b."deletedAt" IS NULL
    UNION
    SELECT b.type, b."leadVariantId", b."relatedVariantId", b.quantity, d.depth + 1
    FROM down d
    JOIN "ProductBundler" b ON b."leadVariantId" = d.related AND b.type = '000_COMBO' AND b."deletedAt" IS NULL
    JOIN "ProductVariant" lv ON lv.id = b."leadVariantId"
    JOIN "Product" lp ON lp.id = lv."productId"
    JOIN "ProductVariant" rv ON rv.id = b."relatedVariantId"
    JOIN "Product" rp ON rp.id = rv."productId" AND rp."merchantId" = lp."merchantId"
    WHERE d.depth < 17
)
SELECT DISTINCT kind, lead, related, quantity FROM down
UNION ALL
SELECT 'typed', v.id, NULL, NULL FROM "ProductVariant" v WHERE v.id = ANY ($1::text[]) AND v.type IN ('300_KIT', '301_COMBO');

-- name: crm_bundle_stock
-- What a bundle needs of each of variants $1: available (on hand - reserved, in total and per location when $2),
-- whether it sells (variant and product activated and live), its type and its first SKU.
SELECT v.id AS variant_id, v.type, sku.identifier AS sku,
       (v.status = 'ACTIVATED' AND v."deletedAt" IS NULL AND p.status = 'ACTIVATED' AND p."deletedAt" IS NULL) AS active,
       coalesce(st.available, 0) AS available, st.by_location
FROM "ProductVariant" v
JOIN "Product" p ON p.id = v."productId"
LEFT JOIN LATERAL (
    SELECT i.identifier FROM "ProductIdentifier" i
    WHERE i."principalType" = 'ProductVariant' AND i."principalId" = v.id AND i.scheme = 'SKU' AND i."deletedAt" IS NULL
    ORDER BY i."createdAt", i.id LIMIT 1
) sku ON true
LEFT JOIN LATERAL (
    SELECT sum(s."onHand" - s.reserved) AS available,
           CASE WHEN $2::boolean THEN jsonb_object_agg(s."locationId", s."onHand" - s.reserved) END AS by_location
    FROM "StockLevel" s WHERE s."variantId" = v.id
) st ON true
WHERE v.id = ANY ($1::text[]);
