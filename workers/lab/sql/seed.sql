-- Synthetic data for benchmarks and tests (workers/engine/seed.py).

-- name: seed_integration
INSERT INTO marketplace_integrations (organization_id, name, platform, config)
VALUES ($1, $2, $3, '{}')
RETURNING id;

-- name: seed_account
INSERT INTO marketplace_accounts (organization_id, integration_id, name, platform, platform_account_id)
VALUES ($1, $2, 'synthetic', $3, 'synthetic-1')
RETURNING id;

-- name: seed_shops
INSERT INTO marketplace_shops (organization_id, account_id, platform, shop_id, shop_name)
SELECT $1, $2, $3, 'shop-' || g, 'Shop ' || g FROM generate_series(1, $4::int) AS g
RETURNING id;

-- name: bench_unfinished
SELECT EXISTS (SELECT 1 FROM sync_tasks WHERE status IN ('pending', 'processing'));

-- name: sandbox_account_insert
INSERT INTO marketplace_accounts (organization_id, integration_id, name, platform, platform_account_id, auth_type)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id;

-- name: sandbox_shop_insert
INSERT INTO marketplace_shops (organization_id, account_id, platform, shop_id, shop_name, shop_url, shop_region,
                               sale_channel_id, shop_data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id;

-- name: demo_analyze_catalog
ANALYZE "Product", "ProductVariant", "ProductInfo", "ProductIdentifier", "ProductOption", "ProductOptionValue",
        "ProductVariantOption", "VariantPrice", "StockLevel", "SaleChannelProduct", "Category";

-- name: demo_add_addon
-- A free add-on $2 given with every unit of host $1 sold, $3 units each (workers/bundles.py).
INSERT INTO "ProductBundler" (type, "leadVariantId", "relatedVariantId", quantity) VALUES ('100_ADDON', $1, $2, $3);
