-- Migration 17: customers and personal data (issue #18 part 1). "Customer" (a marketplace buyer of a merchant, one
-- live row per merchant, platform and buyer id; name, e-mail, phone and address as enc:v1 ciphertexts),
-- "SalesOrder"."customerId", and customer_erasures (who erased which customer, when, with how many orders).
-- Existing "SalesOrder".buyer values stay as they are until the order is seen again or `nfsync keys rotate`
-- runs (it encrypts plaintext buyer values too).
-- Locks: creates two tables; adds a nullable column, a foreign key (SHARE ROW EXCLUSIVE on "SalesOrder" while it is
-- validated: the column is all NULL, so no scan of substance) and an index (writes to "SalesOrder" wait while it
-- builds).

CREATE TABLE "Customer" (
    id                text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier        text,
    "createdAt"       timestamptz NOT NULL DEFAULT now(),
    "modifiedAt"      timestamptz NOT NULL DEFAULT now(),
    "createdBy"       text,
    "modifiedBy"      text,
    "deletedAt"       timestamptz,
    metadata          jsonb,
    "merchantId"      text        NOT NULL,
    "sourcePlatform"  text        NOT NULL,
    "platformBuyerId" text        NOT NULL,
    status            text        NOT NULL DEFAULT 'ACTIVATED',
    name              text,
    email             text,
    phone             text,
    address           text,
    "maskedFields"    text[]      NOT NULL DEFAULT '{}',
    "sourceUpdatedAt" timestamptz,
    "lastOrderAt"     timestamptz,
    CONSTRAINT "Customer_pkey" PRIMARY KEY (id),
    CONSTRAINT "Customer_merchantId_fkey" FOREIGN KEY ("merchantId") REFERENCES "Merchant" (id),
    CONSTRAINT "Customer_status_check" CHECK (status IN ('ACTIVATED', 'ERASED')),
    CONSTRAINT "Customer_maskedFields_check" CHECK ("maskedFields" <@ ARRAY['name', 'email', 'phone', 'address'])
);
CREATE UNIQUE INDEX "Customer_buyer_key" ON "Customer" ("merchantId", "sourcePlatform", "platformBuyerId")
    WHERE "deletedAt" IS NULL;
CREATE INDEX "Customer_merchantId_modifiedAt_idx" ON "Customer" ("merchantId", "modifiedAt", id);
CREATE INDEX "Customer_lastOrderAt_idx" ON "Customer" ("lastOrderAt") WHERE "deletedAt" IS NULL;
COMMENT ON TABLE "Customer" IS
    'nfsync: STAND-IN for the CRM''s customers (the seed has none), in the seed''s conventions: a marketplace buyer '
    'of a merchant, one live row per (merchantId, sourcePlatform, platformBuyerId); erased rows are soft-deleted.';
COMMENT ON COLUMN "Customer"."platformBuyerId" IS
    'The platform''s buyer id (Shopee buyer_user_id, Lazada buyer_id, TikTok user_id, WooCommerce '
    '<store>:<customer_id>), or email:<key id>:<HMAC of the normalised e-mail> for a WooCommerce guest; '
    'erased:<id> once erased.';
COMMENT ON COLUMN "Customer".name IS 'enc:v1 ciphertext (workers/crypto.py), bound to merchant, table, column, row.';
COMMENT ON COLUMN "Customer".email IS 'enc:v1 ciphertext.';
COMMENT ON COLUMN "Customer".phone IS 'enc:v1 ciphertext.';
COMMENT ON COLUMN "Customer".address IS 'enc:v1 ciphertext.';
COMMENT ON COLUMN "Customer"."maskedFields" IS
    'Which of name, email, phone, address hold a value the platform masked or anonymised (never taken as real).';
COMMENT ON COLUMN "Customer"."sourceUpdatedAt" IS 'Platform update time of the newest data applied.';
COMMENT ON COLUMN "Customer"."lastOrderAt" IS 'When the buyer last ordered (retention counts from it).';

ALTER TABLE "SalesOrder" ADD COLUMN "customerId" text;
ALTER TABLE "SalesOrder" ADD CONSTRAINT "SalesOrder_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer" (id);
CREATE INDEX "SalesOrder_customerId_idx" ON "SalesOrder" ("customerId");
COMMENT ON COLUMN "SalesOrder".buyer IS
    'The platform''s buyer fields, each an enc:v1 ciphertext (personal data); {"erased": true} once erased.';
COMMENT ON COLUMN "SalesOrder"."customerId" IS 'The buyer as a CRM "Customer" (NULL when the platform names none).';

CREATE TABLE customer_erasures (
    id              uuid      NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid      NOT NULL,
    customer_id     text      NOT NULL,
    merchant_id     text      NOT NULL,
    requested_by    text      NOT NULL,
    reason          text      NOT NULL,
    orders          integer   NOT NULL,
    erased_at       timestamp NOT NULL DEFAULT now(),
    CONSTRAINT customer_erasures_pkey PRIMARY KEY (id),
    CONSTRAINT customer_erasures_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id),
    CONSTRAINT customer_erasures_reason_check CHECK (reason IN ('api', 'cli', 'retention'))
);
CREATE INDEX customer_erasures_organization_id_idx ON customer_erasures (organization_id, erased_at);
COMMENT ON TABLE customer_erasures IS
    'nfsync: the record that a customer''s personal data was erased (no personal data in it).';
COMMENT ON COLUMN customer_erasures.customer_id IS 'The erased "Customer".id.';
COMMENT ON COLUMN customer_erasures.requested_by IS 'api token id, cli, or retention.';
COMMENT ON COLUMN customer_erasures.reason IS 'api (DELETE /v1/customers/{id}), cli (nfsync customers erase), retention.';
COMMENT ON COLUMN customer_erasures.orders IS 'How many of its orders were anonymised with it.';
COMMENT ON COLUMN customer_erasures.erased_at IS 'When (UTC).';
ALTER TABLE customer_erasures ENABLE ROW LEVEL SECURITY;
CREATE POLICY customer_erasures_tenant ON customer_erasures TO nfsync_app
    USING (nfsync_tenant_visible(organization_id));
GRANT SELECT ON customer_erasures TO nfsync_app;
