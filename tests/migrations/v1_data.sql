-- Representative data of a database at schema version 1 (the first release), written against THAT schema and
-- never changed: tests/migrations/test_migrate.py loads it, runs `nfsync db migrate`, and checks every row is
-- still there and readable. Secret columns are filled by the test (encrypted with its own key) after this file.
-- Ids are fixed so later migrations' tests can name rows.

INSERT INTO organizations (id, name) VALUES
    ('00000000-0000-4000-8000-00000000a001', 'Org A'),
    ('00000000-0000-4000-8000-00000000b001', 'Org B');
INSERT INTO users (id, organization_id, email, name)
VALUES ('00000000-0000-4000-8000-00000000a002', '00000000-0000-4000-8000-00000000a001', 'ops@a.example', 'Ops A');

-- CRM: organizer, merchant, sale channel, a product with two variants, stock and prices
INSERT INTO "Organizer" (id, slug, name) VALUES ('org-1', 'org-1', '{"en": "Organizer"}');
INSERT INTO "Merchant" (id, slug, name, "organizerId") VALUES
    ('m-a', 'merchant-a', '{"en": "Merchant A"}', 'org-1'),
    ('m-b', 'merchant-b', '{"en": "Merchant B"}', 'org-1');
INSERT INTO "SaleChannel" (id, slug, name, "merchantId") VALUES
    ('sc-a', 'shopee-a', '{"en": "Shopee A"}', 'm-a'),
    ('sc-b', 'lazada-b', '{"en": "Lazada B"}', 'm-b');
INSERT INTO "Product" (id, slug, "merchantId") VALUES ('p-1', 'tee', 'm-a'), ('p-2', 'mug', 'm-b');
INSERT INTO "ProductVariant" (id, "productId", identifier, slug) VALUES
    ('v-1', 'p-1', 'TEE-S', 'tee-s'), ('v-2', 'p-1', 'TEE-M', 'tee-m'), ('v-3', 'p-2', 'MUG-1', 'mug-1');
INSERT INTO "StockLevel" ("variantId", "merchantId", "onHand", reserved) VALUES
    ('v-1', 'm-a', 10, 1), ('v-2', 'm-a', 5, 0), ('v-3', 'm-b', 7, 2);
INSERT INTO "VariantPrice" ("variantId", "merchantId", amount) VALUES
    ('v-1', 'm-a', 199000), ('v-2', 'm-a', 209000), ('v-3', 'm-b', 89000);

-- integrations, accounts, shops (secrets are set by the test)
INSERT INTO marketplace_integrations (id, organization_id, name, platform, config) VALUES
    ('00000000-0000-4000-8000-00000000a010', '00000000-0000-4000-8000-00000000a001', 'Shopee A', 'shopee',
     '{"sync_interval": 300, "features": {"order_sync": true}}'),
    ('00000000-0000-4000-8000-00000000b010', '00000000-0000-4000-8000-00000000b001', 'Lazada B', 'lazada', '{}');
INSERT INTO marketplace_accounts (id, organization_id, integration_id, name, platform, platform_account_id,
                                  token_expires_at) VALUES
    ('00000000-0000-4000-8000-00000000a020', '00000000-0000-4000-8000-00000000a001',
     '00000000-0000-4000-8000-00000000a010', 'Seller A', 'shopee', '1001', now() + interval '4 hours'),
    ('00000000-0000-4000-8000-00000000b020', '00000000-0000-4000-8000-00000000b001',
     '00000000-0000-4000-8000-00000000b010', 'Seller B', 'lazada', '2001', now() + interval '7 days');
INSERT INTO marketplace_shops (id, organization_id, account_id, platform, shop_id, shop_name, sale_channel_id)
VALUES
    ('00000000-0000-4000-8000-00000000a030', '00000000-0000-4000-8000-00000000a001',
     '00000000-0000-4000-8000-00000000a020', 'shopee', '77001', 'Shop A', 'sc-a'),
    ('00000000-0000-4000-8000-00000000b030', '00000000-0000-4000-8000-00000000b001',
     '00000000-0000-4000-8000-00000000b020', 'lazada', '88001', 'Shop B', 'sc-b');

-- tasks in every status
INSERT INTO sync_tasks (id, organization_id, integration_id, shop_id, task_type, direction, status, attempt,
                        lease_owner, lease_expires_at, started_at, completed_at, error_message, result,
                        filter_criteria)
VALUES
    ('00000000-0000-4000-8000-0000000a0401', '00000000-0000-4000-8000-00000000a001',
     '00000000-0000-4000-8000-00000000a010', '00000000-0000-4000-8000-00000000a030', 'inventory_sync',
     'crm_to_marketplace', 'pending', 0, NULL, NULL, NULL, NULL, NULL, NULL, '{"variant_ids": ["v-1"]}'),
    ('00000000-0000-4000-8000-0000000a0402', '00000000-0000-4000-8000-00000000a001',
     '00000000-0000-4000-8000-00000000a010', '00000000-0000-4000-8000-00000000a030', 'product_sync',
     'crm_to_marketplace', 'processing', 1, 'host:1:w', now() + interval '30 seconds', now(), NULL, NULL, NULL,
     NULL),
    ('00000000-0000-4000-8000-0000000a0403', '00000000-0000-4000-8000-00000000a001',
     '00000000-0000-4000-8000-00000000a010', '00000000-0000-4000-8000-00000000a030', 'order_sync',
     'marketplace_to_crm', 'completed', 1, NULL, NULL, now() - interval '1 hour', now() - interval '59 minutes',
     NULL, '{"imported": 1}', NULL),
    ('00000000-0000-4000-8000-0000000a0404', '00000000-0000-4000-8000-00000000a001',
     '00000000-0000-4000-8000-00000000a010', '00000000-0000-4000-8000-00000000a030', 'price_sync',
     'crm_to_marketplace', 'failed', 4, NULL, NULL, now() - interval '2 hours', now() - interval '2 hours',
     'permanent: shopee error_param', NULL, NULL),
    ('00000000-0000-4000-8000-0000000b0405', '00000000-0000-4000-8000-00000000b001',
     '00000000-0000-4000-8000-00000000b010', '00000000-0000-4000-8000-00000000b030', 'shop_sync',
     'marketplace_to_crm', 'cancelled', 0, NULL, NULL, NULL, now(), 'cancelled by a user', NULL, NULL);

-- mappings, an imported order, a webhook, sync logs in a monthly partition and in the default one
INSERT INTO product_mappings (organization_id, integration_id, shop_id, platform, product_id, variant_id,
                              platform_item_id, platform_variant_id, platform_sku)
VALUES
    ('00000000-0000-4000-8000-00000000a001', '00000000-0000-4000-8000-00000000a010',
     '00000000-0000-4000-8000-00000000a030', 'shopee', 'p-1', 'v-1', '5550001', '91', 'TEE-S'),
    ('00000000-0000-4000-8000-00000000a001', '00000000-0000-4000-8000-00000000a010',
     '00000000-0000-4000-8000-00000000a030', 'shopee', 'p-1', 'v-2', '5550001', '92', 'TEE-M');
INSERT INTO "SalesOrder" (id, "merchantId", "saleChannelId", "sourcePlatform", "sourceShopId", "externalOrderId")
VALUES ('so-1', 'm-a', 'sc-a', 'shopee', '77001', '240101ABC');
INSERT INTO order_mappings (organization_id, integration_id, shop_id, platform, platform_order_id, crm_order_id,
                            platform_status, crm_status, platform_updated_at)
VALUES ('00000000-0000-4000-8000-00000000a001', '00000000-0000-4000-8000-00000000a010',
        '00000000-0000-4000-8000-00000000a030', 'shopee', '240101ABC', 'so-1', 'READY_TO_SHIP', 'confirmed',
        now() - interval '1 hour');
INSERT INTO marketplace_webhooks (organization_id, integration_id, shop_id, platform, event_type, dedupe_key,
                                  payload, task_id)
VALUES ('00000000-0000-4000-8000-00000000a001', '00000000-0000-4000-8000-00000000a010',
        '00000000-0000-4000-8000-00000000a030', 'shopee', 'order_status', 'shopee:3:240101ABC:READY_TO_SHIP',
        '{"code": 3, "data": {"ordersn": "240101ABC", "status": "READY_TO_SHIP"}}',
        '00000000-0000-4000-8000-0000000a0403');
INSERT INTO sync_logs (created_at, organization_id, integration_id, task_id, entity_type, action, status,
                       error_message)
VALUES
    (now() - interval '1 hour', '00000000-0000-4000-8000-00000000a001', '00000000-0000-4000-8000-00000000a010',
     '00000000-0000-4000-8000-0000000a0403', 'order', 'import', 'success', NULL),
    (now() - interval '2 hours', '00000000-0000-4000-8000-00000000a001', '00000000-0000-4000-8000-00000000a010',
     '00000000-0000-4000-8000-0000000a0404', 'price', 'update', 'failed', 'error_param'),
    (now() + interval '2 years', '00000000-0000-4000-8000-00000000b001', '00000000-0000-4000-8000-00000000b010',
     NULL, 'shop', 'check', 'success', NULL);
INSERT INTO api_tokens (organization_id, name, token_hash, scopes)
VALUES ('00000000-0000-4000-8000-00000000a001', 'ci', repeat('ab', 32), ARRAY['tasks:read', 'tasks:write']);
