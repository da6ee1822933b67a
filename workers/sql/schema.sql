-- nfsync-schema-version: 17
--
-- The whole nfsync database. `nfsync db init` applies this file in ONE transaction to an empty database and
-- records its version and checksum in nfsync_schema_version; `nfsync db check` compares a live database with it.
-- A database at an older version is upgraded by `nfsync db migrate` (workers/sql/migrations/NNNN_*.sql): every
-- change here ships as the next numbered migration, the version line above equals the last one's number, and
-- tests/migrations proves that migrating the first release's schema equals applying this file.
--
-- Sources:
--   * docs/seeds/000_418f04a3c09a7a38.txt  - the integration schema (marketplace_* and sync_tasks as specified;
--     marketplace_webhooks, sync_logs, product_mappings, order_mappings named only and designed here).
--   * docs/seeds/001_0e914b46c7925ede.txt  - the CRM catalog domain model (@nx/core), tables under its own names.
--
-- Conventions:
--   * The seed's `enum` columns are `text` with a CHECK constraint under the seed's constraint name (not
--     PostgreSQL enum types): values can be added with one ALTER of the constraint, inside a transaction.
--   * The seed's `timestamp` columns are `timestamp without time zone` exactly as written; they always hold
--     UTC. `db init` sets the database's TimeZone to UTC and every nfsync connection sets it too, so now()
--     and comparisons with timestamptz are UTC. The CRM catalog uses timestamptz as its seed says.
--   * Columns added beyond the seed carry a COMMENT beginning with "nfsync:" that says why.
--   * Credential columns hold ciphertext tokens `enc:v1:<key id>:<base64url(nonce | ciphertext | tag)>`
--     (AES-256-GCM, see workers/crypto.py); jsonb credential columns hold an object of such tokens.

CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE SCHEMA IF NOT EXISTS allocation;

-- Every session of this database runs in UTC (the seed's `timestamp` columns hold UTC).
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET timezone TO %L', current_database(), 'UTC');
END;
$$;
SET LOCAL timezone TO 'UTC';

-- ---------------------------------------------------------------------------------------------------------
-- Shared trigger functions
-- ---------------------------------------------------------------------------------------------------------

CREATE FUNCTION nfsync_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION nfsync_touch_updated_at() IS
    'nfsync: keeps updated_at current on every UPDATE. Its triggers carry WHEN (NEW.updated_at IS DISTINCT FROM '
    'now()): a statement that already sets updated_at = now() (the task engine''s hot path) skips the PL/pgSQL call.';

CREATE FUNCTION nx_touch_modified_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW."modifiedAt" := now();
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION nx_touch_modified_at() IS 'nfsync: keeps "modifiedAt" current on every UPDATE of a CRM table.';

CREATE SEQUENCE nx_snowflake_seq CYCLE MAXVALUE 4194303;
COMMENT ON SEQUENCE nx_snowflake_seq IS 'nfsync: low 22 bits of nx_snowflake_id().';

CREATE FUNCTION nx_snowflake_id() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT ((((extract(epoch FROM clock_timestamp()) * 1000)::bigint - 1288834974657) << 22)
            | nextval('nx_snowflake_seq'))::text
$$;
COMMENT ON FUNCTION nx_snowflake_id() IS
    'nfsync: Snowflake-style text id (ms since the Twitter epoch << 22 | sequence) for CRM rows created here '
    '(demo data, stand-in orders); the real CRM generates its own.';

CREATE FUNCTION nfsync_secret_key_id(value text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value LIKE 'enc:v1:%' THEN split_part(value, ':', 3) END
$$;
COMMENT ON FUNCTION nfsync_secret_key_id(text) IS
    'nfsync: key id of an enc:v1 ciphertext token, NULL for anything else (key rotation and its report).';

CREATE FUNCTION nfsync_secret_key_ids(value jsonb) RETURNS SETOF text LANGUAGE sql IMMUTABLE AS $$
    SELECT split_part(e.v, ':', 3)
    FROM jsonb_each_text(CASE WHEN jsonb_typeof(value) = 'object' THEN value ELSE '{}'::jsonb END) AS e(k, v)
    WHERE e.v LIKE 'enc:v1:%'
$$;
COMMENT ON FUNCTION nfsync_secret_key_ids(jsonb) IS
    'nfsync: key ids of the enc:v1 tokens inside a jsonb credentials object.';

-- ---------------------------------------------------------------------------------------------------------
-- organizations and users: minimal tables that the seed's foreign keys need
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE organizations (
    id          uuid         NOT NULL DEFAULT gen_random_uuid(),
    name        varchar(255) NOT NULL,
    status      text         NOT NULL DEFAULT 'active',
    metadata    jsonb,
    created_at  timestamp    NOT NULL DEFAULT now(),
    updated_at  timestamp    NOT NULL DEFAULT now(),
    CONSTRAINT organizations_pkey PRIMARY KEY (id),
    CONSTRAINT organizations_status_check CHECK (status IN ('active', 'inactive'))
);
COMMENT ON TABLE organizations IS 'nfsync: minimal tenant table; the seed''s organization_id foreign keys point here.';
COMMENT ON COLUMN organizations.id IS 'Primary key, the tenant id every other table carries.';
COMMENT ON COLUMN organizations.name IS 'Display name.';
COMMENT ON COLUMN organizations.status IS 'active or inactive.';
COMMENT ON COLUMN organizations.metadata IS 'Free-form extra data.';
COMMENT ON COLUMN organizations.created_at IS 'Row creation time (UTC).';
COMMENT ON COLUMN organizations.updated_at IS 'Last update time (UTC), kept by trigger.';

CREATE TABLE users (
    id               uuid         NOT NULL DEFAULT gen_random_uuid(),
    organization_id  uuid         NOT NULL,
    email            varchar(255),
    name             varchar(255),
    created_at       timestamp    NOT NULL DEFAULT now(),
    updated_at       timestamp    NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id)
);
CREATE INDEX users_organization_id_idx ON users (organization_id);
COMMENT ON TABLE users IS 'nfsync: minimal user table; the seed''s created_by / updated_by foreign keys point here.';
COMMENT ON COLUMN users.id IS 'Primary key.';
COMMENT ON COLUMN users.organization_id IS 'Organization the user belongs to.';
COMMENT ON COLUMN users.email IS 'E-mail address, informational.';
COMMENT ON COLUMN users.name IS 'Display name.';
COMMENT ON COLUMN users.created_at IS 'Row creation time (UTC).';
COMMENT ON COLUMN users.updated_at IS 'Last update time (UTC), kept by trigger.';

-- ---------------------------------------------------------------------------------------------------------
-- marketplace_integrations (seed section 2)
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE marketplace_integrations (
    id              uuid         NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid         NOT NULL,
    name            varchar(100) NOT NULL,
    description     text                  DEFAULT NULL,
    platform        varchar(50)  NOT NULL,
    status          text         NOT NULL DEFAULT 'active',
    config          jsonb        NOT NULL,
    credentials     jsonb                 DEFAULT NULL,
    api_version     varchar(20)           DEFAULT NULL,
    api_base_url    varchar(255)          DEFAULT NULL,
    webhook_url     varchar(255)          DEFAULT NULL,
    webhook_secret  varchar(255)          DEFAULT NULL,
    rate_limit      integer               DEFAULT NULL,
    sync_interval   integer               DEFAULT NULL,
    last_sync_at    timestamp             DEFAULT NULL,
    error_message   text                  DEFAULT NULL,
    metadata        jsonb                 DEFAULT NULL,
    created_at      timestamp    NOT NULL DEFAULT now(),
    updated_at      timestamp    NOT NULL DEFAULT now(),
    created_by      uuid                  DEFAULT NULL,
    updated_by      uuid                  DEFAULT NULL,
    CONSTRAINT marketplace_integrations_pkey PRIMARY KEY (id),
    CONSTRAINT marketplace_integrations_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id),
    CONSTRAINT marketplace_integrations_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id),
    CONSTRAINT marketplace_integrations_updated_by_fkey FOREIGN KEY (updated_by) REFERENCES users (id),
    CONSTRAINT marketplace_integrations_platform_check
        CHECK (platform IN ('shopee', 'lazada', 'tiktok', 'woocommerce', 'shopify')),
    CONSTRAINT marketplace_integrations_status_check CHECK (status IN ('active', 'inactive', 'error'))
);
CREATE UNIQUE INDEX marketplace_integrations_organization_name_idx ON marketplace_integrations (organization_id, name);
CREATE INDEX marketplace_integrations_organization_id_idx ON marketplace_integrations (organization_id);
CREATE INDEX marketplace_integrations_platform_idx ON marketplace_integrations (platform);
CREATE INDEX marketplace_integrations_status_idx ON marketplace_integrations (status);
CREATE TRIGGER marketplace_integrations_touch_updated_at BEFORE UPDATE ON marketplace_integrations
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now()::timestamp) EXECUTE FUNCTION nfsync_touch_updated_at();

COMMENT ON TABLE marketplace_integrations IS 'Integration configuration with a marketplace (seed section 2).';
COMMENT ON COLUMN marketplace_integrations.id IS 'Primary key.';
COMMENT ON COLUMN marketplace_integrations.organization_id IS 'Owning organization.';
COMMENT ON COLUMN marketplace_integrations.name IS 'Integration name, unique in the organization.';
COMMENT ON COLUMN marketplace_integrations.description IS 'Description.';
COMMENT ON COLUMN marketplace_integrations.platform IS 'shopee, lazada, tiktok, woocommerce, shopify.';
COMMENT ON COLUMN marketplace_integrations.status IS 'active, inactive, error (text + CHECK).';
COMMENT ON COLUMN marketplace_integrations.config IS 'Integration configuration (app ids, region, features, sync settings).';
COMMENT ON COLUMN marketplace_integrations.credentials IS 'App credentials: object of AES-256-GCM ciphertext tokens.';
COMMENT ON COLUMN marketplace_integrations.api_version IS 'API version.';
COMMENT ON COLUMN marketplace_integrations.api_base_url IS 'API base URL (a sandbox URL in tests and the demo).';
COMMENT ON COLUMN marketplace_integrations.webhook_url IS 'Webhook URL registered at the platform.';
COMMENT ON COLUMN marketplace_integrations.webhook_secret IS 'Webhook secret: AES-256-GCM ciphertext token.';
COMMENT ON COLUMN marketplace_integrations.rate_limit IS 'Request limit override (requests per second per app and shop).';
COMMENT ON COLUMN marketplace_integrations.sync_interval IS 'Periodic sync interval in minutes.';
COMMENT ON COLUMN marketplace_integrations.last_sync_at IS 'Last periodic sync (UTC).';
COMMENT ON COLUMN marketplace_integrations.error_message IS 'Latest error.';
COMMENT ON COLUMN marketplace_integrations.metadata IS 'Extra data.';
COMMENT ON COLUMN marketplace_integrations.created_at IS 'Row creation time (UTC).';
COMMENT ON COLUMN marketplace_integrations.updated_at IS 'Last update time (UTC), kept by trigger.';
COMMENT ON COLUMN marketplace_integrations.created_by IS 'Creating user.';
COMMENT ON COLUMN marketplace_integrations.updated_by IS 'Last updating user.';

-- ---------------------------------------------------------------------------------------------------------
-- marketplace_accounts (seed section 3)
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE marketplace_accounts (
    id                  uuid         NOT NULL DEFAULT gen_random_uuid(),
    organization_id     uuid         NOT NULL,
    integration_id      uuid         NOT NULL,
    name                varchar(100) NOT NULL,
    platform            varchar(50)  NOT NULL,
    platform_account_id varchar(100) NOT NULL,
    status              text         NOT NULL DEFAULT 'active',
    auth_type           varchar(50)  NOT NULL DEFAULT 'oauth',
    auth_data           jsonb                 DEFAULT NULL,
    access_token        text                  DEFAULT NULL,
    refresh_token       text                  DEFAULT NULL,
    token_expires_at    timestamp             DEFAULT NULL,
    scopes              jsonb                 DEFAULT NULL,
    last_connected_at   timestamp             DEFAULT NULL,
    error_message       text                  DEFAULT NULL,
    metadata            jsonb                 DEFAULT NULL,
    created_at          timestamp    NOT NULL DEFAULT now(),
    updated_at          timestamp    NOT NULL DEFAULT now(),
    created_by          uuid                  DEFAULT NULL,
    updated_by          uuid                  DEFAULT NULL,
    refresh_token_expires_at timestamp        DEFAULT NULL,
    token_version       integer      NOT NULL DEFAULT 0,
    expiry_warned_days  integer               DEFAULT NULL,
    CONSTRAINT marketplace_accounts_pkey PRIMARY KEY (id),
    CONSTRAINT marketplace_accounts_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id),
    CONSTRAINT marketplace_accounts_integration_id_fkey
        FOREIGN KEY (integration_id) REFERENCES marketplace_integrations (id),
    CONSTRAINT marketplace_accounts_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id),
    CONSTRAINT marketplace_accounts_updated_by_fkey FOREIGN KEY (updated_by) REFERENCES users (id),
    CONSTRAINT marketplace_accounts_platform_check
        CHECK (platform IN ('shopee', 'lazada', 'tiktok', 'woocommerce', 'shopify')),
    CONSTRAINT marketplace_accounts_status_check CHECK (status IN ('active', 'inactive', 'error')),
    CONSTRAINT marketplace_accounts_auth_type_check CHECK (auth_type IN ('oauth', 'api_key', 'basic'))
);
CREATE UNIQUE INDEX marketplace_accounts_organization_platform_account_idx
    ON marketplace_accounts (organization_id, platform, platform_account_id);
CREATE INDEX marketplace_accounts_organization_id_idx ON marketplace_accounts (organization_id);
CREATE INDEX marketplace_accounts_integration_id_idx ON marketplace_accounts (integration_id);
CREATE INDEX marketplace_accounts_platform_idx ON marketplace_accounts (platform);
CREATE INDEX marketplace_accounts_status_idx ON marketplace_accounts (status);
CREATE TRIGGER marketplace_accounts_touch_updated_at BEFORE UPDATE ON marketplace_accounts
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now()::timestamp) EXECUTE FUNCTION nfsync_touch_updated_at();

COMMENT ON TABLE marketplace_accounts IS 'Accounts on the marketplaces (seed section 3).';
COMMENT ON COLUMN marketplace_accounts.id IS 'Primary key.';
COMMENT ON COLUMN marketplace_accounts.organization_id IS 'Owning organization.';
COMMENT ON COLUMN marketplace_accounts.integration_id IS 'Integration the account belongs to.';
COMMENT ON COLUMN marketplace_accounts.name IS 'Account name.';
COMMENT ON COLUMN marketplace_accounts.platform IS 'shopee, lazada, tiktok, woocommerce, shopify.';
COMMENT ON COLUMN marketplace_accounts.platform_account_id IS 'Account id on the platform.';
COMMENT ON COLUMN marketplace_accounts.status IS 'active, inactive, error (text + CHECK).';
COMMENT ON COLUMN marketplace_accounts.auth_type IS 'oauth, api_key, basic.';
COMMENT ON COLUMN marketplace_accounts.auth_data IS 'Authentication data: object of AES-256-GCM ciphertext tokens.';
COMMENT ON COLUMN marketplace_accounts.access_token IS 'Access token: AES-256-GCM ciphertext token.';
COMMENT ON COLUMN marketplace_accounts.refresh_token IS 'Refresh token: AES-256-GCM ciphertext token.';
COMMENT ON COLUMN marketplace_accounts.token_expires_at IS 'Access token expiry (UTC).';
COMMENT ON COLUMN marketplace_accounts.scopes IS 'Granted scopes.';
COMMENT ON COLUMN marketplace_accounts.last_connected_at IS 'Last successful connection (UTC).';
COMMENT ON COLUMN marketplace_accounts.error_message IS 'Latest error.';
COMMENT ON COLUMN marketplace_accounts.metadata IS 'Extra data.';
COMMENT ON COLUMN marketplace_accounts.created_at IS 'Row creation time (UTC).';
COMMENT ON COLUMN marketplace_accounts.updated_at IS 'Last update time (UTC), kept by trigger.';
COMMENT ON COLUMN marketplace_accounts.created_by IS 'Creating user.';
COMMENT ON COLUMN marketplace_accounts.updated_by IS 'Last updating user.';
COMMENT ON COLUMN marketplace_accounts.refresh_token_expires_at IS
    'nfsync: refresh token expiry (UTC); platforms give it separately and it decides when re-authorization is needed.';
COMMENT ON COLUMN marketplace_accounts.token_version IS
    'nfsync: incremented on every token rewrite, so a refresher under the row lock can tell that another '
    'process already refreshed a single-use refresh token (Shopee).';
COMMENT ON COLUMN marketplace_accounts.expiry_warned_days IS
    'nfsync: the smallest days-before-lapse threshold (7, 1) already announced by shop.authorization_expiring for '
    'the current refresh_token_expires_at; reset when new tokens are stored.';

-- ---------------------------------------------------------------------------------------------------------
-- CRM catalog (@nx/core, seed 001) - schema public, names and camelCase columns as the seed writes them.
-- Common columns (seed section 2): id text (Snowflake), identifier, createdAt/modifiedAt timestamptz,
-- createdBy/modifiedBy text, deletedAt timestamptz (soft delete), metadata jsonb. i18n fields are jsonb
-- objects keyed by locale ({"vi": "...", "en": "..."}). Polymorphic principal columns are
-- "principalType" / "principalId".
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE "Organizer" (
    id                      text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier              text,
    "createdAt"             timestamptz NOT NULL DEFAULT now(),
    "modifiedAt"            timestamptz NOT NULL DEFAULT now(),
    "createdBy"             text,
    "modifiedBy"            text,
    "deletedAt"             timestamptz,
    metadata                jsonb,
    slug                    text        NOT NULL,
    status                  text        NOT NULL DEFAULT 'ACTIVATED',
    name                    jsonb       NOT NULL,
    description             jsonb,
    location                jsonb,
    "parentId"              text,
    "headquarterMerchantId" text,
    CONSTRAINT "Organizer_pkey" PRIMARY KEY (id),
    CONSTRAINT "Organizer_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Organizer" (id)
);
CREATE UNIQUE INDEX "Organizer_slug_key" ON "Organizer" (slug) WHERE "deletedAt" IS NULL;

CREATE TABLE "Merchant" (
    id              text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier      text,
    "createdAt"     timestamptz NOT NULL DEFAULT now(),
    "modifiedAt"    timestamptz NOT NULL DEFAULT now(),
    "createdBy"     text,
    "modifiedBy"    text,
    "deletedAt"     timestamptz,
    metadata        jsonb,
    slug            text        NOT NULL,
    name            jsonb       NOT NULL,
    description     jsonb,
    status          text        NOT NULL DEFAULT 'ACTIVATED',
    currency        text        NOT NULL DEFAULT 'VND',
    "businessType"  text        NOT NULL DEFAULT 'HOUSEHOLD',
    industry        text        NOT NULL DEFAULT 'FNB',
    "isHeadquarter" boolean     NOT NULL DEFAULT false,
    location        jsonb,
    "taxMethod"     text,
    "parentId"      text,
    "organizerId"   text,
    CONSTRAINT "Merchant_pkey" PRIMARY KEY (id),
    CONSTRAINT "Merchant_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Merchant" (id),
    CONSTRAINT "Merchant_organizerId_fkey" FOREIGN KEY ("organizerId") REFERENCES "Organizer" (id)
);
CREATE UNIQUE INDEX "Merchant_organizerId_slug_key" ON "Merchant" ("organizerId", slug) WHERE "deletedAt" IS NULL;
ALTER TABLE "Organizer" ADD CONSTRAINT "Organizer_headquarterMerchantId_fkey"
    FOREIGN KEY ("headquarterMerchantId") REFERENCES "Merchant" (id);

CREATE TABLE "Category" (
    id                   text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier           text,
    "createdAt"          timestamptz NOT NULL DEFAULT now(),
    "modifiedAt"         timestamptz NOT NULL DEFAULT now(),
    "createdBy"          text,
    "modifiedBy"         text,
    "deletedAt"          timestamptz,
    metadata             jsonb,
    name                 jsonb       NOT NULL,
    description          jsonb,
    status               text        NOT NULL DEFAULT 'ACTIVATED',
    "discriminationType" text,
    "merchantId"         text,
    "parentId"           text,
    CONSTRAINT "Category_pkey" PRIMARY KEY (id),
    CONSTRAINT "Category_merchantId_fkey" FOREIGN KEY ("merchantId") REFERENCES "Merchant" (id),
    CONSTRAINT "Category_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Category" (id)
);
CREATE INDEX "Category_merchantId_idx" ON "Category" ("merchantId") WHERE "deletedAt" IS NULL;

CREATE TABLE "Product" (
    id             text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier     text,
    "createdAt"    timestamptz NOT NULL DEFAULT now(),
    "modifiedAt"   timestamptz NOT NULL DEFAULT now(),
    "createdBy"    text,
    "modifiedBy"   text,
    "deletedAt"    timestamptz,
    metadata       jsonb,
    slug           text        NOT NULL,
    status         text        NOT NULL DEFAULT 'ACTIVATED',
    "merchantId"   text        NOT NULL,
    "taxGroupId"   text,
    "parentId"     text,
    "referenceId"  text,
    "categoryId"   text,
    CONSTRAINT "Product_pkey" PRIMARY KEY (id),
    CONSTRAINT "Product_merchantId_fkey" FOREIGN KEY ("merchantId") REFERENCES "Merchant" (id),
    CONSTRAINT "Product_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Product" (id),
    CONSTRAINT "Product_categoryId_fkey" FOREIGN KEY ("categoryId") REFERENCES "Category" (id),
    CONSTRAINT "Product_status_check" CHECK (status IN ('DRAFT', 'ACTIVATED', 'DEACTIVATED', 'ARCHIVED'))
);
CREATE UNIQUE INDEX "Product_merchantId_slug_key" ON "Product" ("merchantId", slug) WHERE "deletedAt" IS NULL;
CREATE INDEX "Product_modifiedAt_idx" ON "Product" ("merchantId", "modifiedAt");
COMMENT ON COLUMN "Product"."categoryId" IS
    'nfsync: the seed draws Product-Category only in its ERD image, which the text lost; product_sync filters '
    'by category through this column.';

CREATE TABLE "ProductVariant" (
    id           text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier   text,
    "createdAt"  timestamptz NOT NULL DEFAULT now(),
    "modifiedAt" timestamptz NOT NULL DEFAULT now(),
    "createdBy"  text,
    "modifiedBy" text,
    "deletedAt"  timestamptz,
    metadata     jsonb,
    slug         text,
    "isDefault"  boolean     NOT NULL DEFAULT false,
    "dateFrom"   timestamptz,
    "dateTo"     timestamptz,
    status       text        NOT NULL DEFAULT 'ACTIVATED',
    type         text        NOT NULL DEFAULT '000_STORABLE',
    uom          jsonb,
    "productId"  text        NOT NULL,
    CONSTRAINT "ProductVariant_pkey" PRIMARY KEY (id),
    CONSTRAINT "ProductVariant_productId_fkey" FOREIGN KEY ("productId") REFERENCES "Product" (id),
    CONSTRAINT "ProductVariant_status_check" CHECK (status IN ('DRAFT', 'ACTIVATED', 'DEACTIVATED', 'ARCHIVED')),
    CONSTRAINT "ProductVariant_type_check" CHECK (type IN ('000_STORABLE', '100_CONSUMABLE', '200_SERVICE', '300_KIT',
                                                          '301_COMBO', '400_MANUFACTURED'))
);
CREATE INDEX "ProductVariant_productId_idx" ON "ProductVariant" ("productId");
CREATE INDEX "ProductVariant_modifiedAt_idx" ON "ProductVariant" ("modifiedAt");

CREATE TABLE "ProductInfo" (
    id              text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier      text,
    "createdAt"     timestamptz NOT NULL DEFAULT now(),
    "modifiedAt"    timestamptz NOT NULL DEFAULT now(),
    "createdBy"     text,
    "modifiedBy"    text,
    "deletedAt"     timestamptz,
    metadata        jsonb,
    "principalType" text        NOT NULL,
    "principalId"   text        NOT NULL,
    name            jsonb       NOT NULL,
    description     jsonb,
    CONSTRAINT "ProductInfo_pkey" PRIMARY KEY (id),
    CONSTRAINT "ProductInfo_principalType_check" CHECK ("principalType" IN ('Product', 'ProductVariant'))
);
CREATE UNIQUE INDEX "ProductInfo_principal_key" ON "ProductInfo" ("principalType", "principalId")
    WHERE "deletedAt" IS NULL;

CREATE TABLE "ProductIdentifier" (
    id              text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier      text        NOT NULL,
    "createdAt"     timestamptz NOT NULL DEFAULT now(),
    "modifiedAt"    timestamptz NOT NULL DEFAULT now(),
    "createdBy"     text,
    "modifiedBy"    text,
    "deletedAt"     timestamptz,
    metadata        jsonb,
    "principalType" text        NOT NULL,
    "principalId"   text        NOT NULL,
    scheme          text        NOT NULL,
    CONSTRAINT "ProductIdentifier_pkey" PRIMARY KEY (id),
    CONSTRAINT "ProductIdentifier_principalType_check" CHECK ("principalType" IN ('Product', 'ProductVariant'))
);
CREATE INDEX "ProductIdentifier_principal_idx" ON "ProductIdentifier" ("principalType", "principalId")
    WHERE "deletedAt" IS NULL;
CREATE INDEX "ProductIdentifier_scheme_identifier_idx" ON "ProductIdentifier" (scheme, identifier)
    WHERE "deletedAt" IS NULL;

CREATE TABLE "ProductOption" (
    id           text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier   text,
    "createdAt"  timestamptz NOT NULL DEFAULT now(),
    "modifiedAt" timestamptz NOT NULL DEFAULT now(),
    "createdBy"  text,
    "modifiedBy" text,
    "deletedAt"  timestamptz,
    metadata     jsonb,
    "productId"  text        NOT NULL,
    key          text        NOT NULL,
    name         jsonb       NOT NULL,
    sequence     integer     NOT NULL DEFAULT 0,
    CONSTRAINT "ProductOption_pkey" PRIMARY KEY (id),
    CONSTRAINT "ProductOption_productId_fkey" FOREIGN KEY ("productId") REFERENCES "Product" (id)
);
CREATE UNIQUE INDEX "ProductOption_productId_key_key" ON "ProductOption" ("productId", key) WHERE "deletedAt" IS NULL;

CREATE TABLE "ProductOptionValue" (
    id           text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier   text,
    "createdAt"  timestamptz NOT NULL DEFAULT now(),
    "modifiedAt" timestamptz NOT NULL DEFAULT now(),
    "createdBy"  text,
    "modifiedBy" text,
    "deletedAt"  timestamptz,
    metadata     jsonb,
    "optionId"   text        NOT NULL,
    value        text        NOT NULL,
    name         jsonb       NOT NULL,
    sequence     integer     NOT NULL DEFAULT 0,
    CONSTRAINT "ProductOptionValue_pkey" PRIMARY KEY (id),
    CONSTRAINT "ProductOptionValue_optionId_fkey" FOREIGN KEY ("optionId") REFERENCES "ProductOption" (id)
);
CREATE UNIQUE INDEX "ProductOptionValue_optionId_value_key" ON "ProductOptionValue" ("optionId", value)
    WHERE "deletedAt" IS NULL;

CREATE TABLE "ProductVariantOption" (
    id                 text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier         text,
    "createdAt"        timestamptz NOT NULL DEFAULT now(),
    "modifiedAt"       timestamptz NOT NULL DEFAULT now(),
    "createdBy"        text,
    "modifiedBy"       text,
    "deletedAt"        timestamptz,
    metadata           jsonb,
    "productVariantId" text        NOT NULL,
    "optionId"         text        NOT NULL,
    "optionValueId"    text        NOT NULL,
    CONSTRAINT "ProductVariantOption_pkey" PRIMARY KEY (id),
    CONSTRAINT "ProductVariantOption_productVariantId_fkey"
        FOREIGN KEY ("productVariantId") REFERENCES "ProductVariant" (id),
    CONSTRAINT "ProductVariantOption_optionId_fkey" FOREIGN KEY ("optionId") REFERENCES "ProductOption" (id),
    CONSTRAINT "ProductVariantOption_optionValueId_fkey"
        FOREIGN KEY ("optionValueId") REFERENCES "ProductOptionValue" (id)
);
CREATE UNIQUE INDEX "ProductVariantOption_variant_option_key" ON "ProductVariantOption" ("productVariantId", "optionId")
    WHERE "deletedAt" IS NULL;

CREATE TABLE "ProductBundler" (
    id                 text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier         text,
    "createdAt"        timestamptz NOT NULL DEFAULT now(),
    "modifiedAt"       timestamptz NOT NULL DEFAULT now(),
    "createdBy"        text,
    "modifiedBy"       text,
    "deletedAt"        timestamptz,
    metadata           jsonb,
    type               text        NOT NULL DEFAULT '000_COMBO',
    "leadVariantId"    text        NOT NULL,
    "relatedVariantId" text        NOT NULL,
    quantity           numeric     NOT NULL DEFAULT 1,
    basis              text,
    "basisValue"       numeric,
    sequence           integer     NOT NULL DEFAULT 0,
    CONSTRAINT "ProductBundler_pkey" PRIMARY KEY (id),
    CONSTRAINT "ProductBundler_leadVariantId_fkey" FOREIGN KEY ("leadVariantId") REFERENCES "ProductVariant" (id),
    CONSTRAINT "ProductBundler_relatedVariantId_fkey"
        FOREIGN KEY ("relatedVariantId") REFERENCES "ProductVariant" (id),
    CONSTRAINT "ProductBundler_type_check" CHECK (type IN ('000_COMBO', '100_ADDON', '200_FBT'))
);
CREATE UNIQUE INDEX "ProductBundler_type_lead_related_key"
    ON "ProductBundler" (type, "leadVariantId", "relatedVariantId") WHERE "deletedAt" IS NULL;
CREATE INDEX "ProductBundler_combo_related_idx" ON "ProductBundler" ("relatedVariantId")
    WHERE "deletedAt" IS NULL AND type = '000_COMBO';

CREATE TABLE "SaleChannel" (
    id           text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier   text,
    "createdAt"  timestamptz NOT NULL DEFAULT now(),
    "modifiedAt" timestamptz NOT NULL DEFAULT now(),
    "createdBy"  text,
    "modifiedBy" text,
    "deletedAt"  timestamptz,
    metadata     jsonb,
    slug         text        NOT NULL,
    status       text        NOT NULL DEFAULT 'ACTIVATED',
    name         jsonb       NOT NULL,
    description  jsonb,
    "merchantId" text        NOT NULL,
    "parentId"   text,
    CONSTRAINT "SaleChannel_pkey" PRIMARY KEY (id),
    CONSTRAINT "SaleChannel_merchantId_fkey" FOREIGN KEY ("merchantId") REFERENCES "Merchant" (id),
    CONSTRAINT "SaleChannel_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "SaleChannel" (id)
);
CREATE UNIQUE INDEX "SaleChannel_merchantId_slug_key" ON "SaleChannel" ("merchantId", slug) WHERE "deletedAt" IS NULL;

CREATE TABLE "SaleChannelProduct" (
    id              text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier      text,
    "createdAt"     timestamptz NOT NULL DEFAULT now(),
    "modifiedAt"    timestamptz NOT NULL DEFAULT now(),
    "createdBy"     text,
    "modifiedBy"    text,
    "deletedAt"     timestamptz,
    metadata        jsonb,
    "productId"     text        NOT NULL,
    "saleChannelId" text        NOT NULL,
    CONSTRAINT "SaleChannelProduct_pkey" PRIMARY KEY (id),
    CONSTRAINT "SaleChannelProduct_productId_fkey" FOREIGN KEY ("productId") REFERENCES "Product" (id),
    CONSTRAINT "SaleChannelProduct_saleChannelId_fkey"
        FOREIGN KEY ("saleChannelId") REFERENCES "SaleChannel" (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX "SaleChannelProduct_channel_product_key" ON "SaleChannelProduct" ("saleChannelId", "productId")
    WHERE "deletedAt" IS NULL;
CREATE INDEX "SaleChannelProduct_productId_idx" ON "SaleChannelProduct" ("productId");

CREATE TABLE "Configuration" (
    id              text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier      text,
    "createdAt"     timestamptz NOT NULL DEFAULT now(),
    "modifiedAt"    timestamptz NOT NULL DEFAULT now(),
    "createdBy"     text,
    "modifiedBy"    text,
    "deletedAt"     timestamptz,
    metadata        jsonb,
    "principalType" text,
    "principalId"   text,
    code            text        NOT NULL,
    "group"         text        NOT NULL,
    status          text        NOT NULL DEFAULT 'ACTIVATED',
    environment     text,
    credential      text,
    CONSTRAINT "Configuration_pkey" PRIMARY KEY (id)
);
CREATE UNIQUE INDEX "Configuration_group_code_principal_environment_key"
    ON "Configuration" ("group", code, "principalId", "principalType", environment) NULLS NOT DISTINCT
    WHERE "deletedAt" IS NULL;
COMMENT ON COLUMN "Configuration".credential IS
    'AES-256-GCM ciphertext token (nfsync format), masked in every response.';

CREATE TABLE "Device" (
    id             text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier     text,
    "createdAt"    timestamptz NOT NULL DEFAULT now(),
    "modifiedAt"   timestamptz NOT NULL DEFAULT now(),
    "createdBy"    text,
    "modifiedBy"   text,
    "deletedAt"    timestamptz,
    metadata       jsonb,
    status         text        NOT NULL DEFAULT 'NEW',
    name           jsonb,
    code           text,
    type           text,
    "merchantId"   text,
    "hardwareInfo" jsonb,
    "softwareInfo" jsonb,
    pin            text,
    vendor         text,
    CONSTRAINT "Device_pkey" PRIMARY KEY (id),
    CONSTRAINT "Device_merchantId_fkey" FOREIGN KEY ("merchantId") REFERENCES "Merchant" (id)
);

CREATE TABLE "DiscriminationType" (
    id           text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier   text,
    "createdAt"  timestamptz NOT NULL DEFAULT now(),
    "modifiedAt" timestamptz NOT NULL DEFAULT now(),
    "createdBy"  text,
    "modifiedBy" text,
    "deletedAt"  timestamptz,
    metadata     jsonb,
    scope        text,
    status       text        NOT NULL DEFAULT 'ACTIVATED',
    name         jsonb,
    type         text,
    "parentId"   text,
    "merchantId" text,
    CONSTRAINT "DiscriminationType_pkey" PRIMARY KEY (id),
    CONSTRAINT "DiscriminationType_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "DiscriminationType" (id),
    CONSTRAINT "DiscriminationType_merchantId_fkey" FOREIGN KEY ("merchantId") REFERENCES "Merchant" (id)
);

CREATE TABLE "ReceiptTemplate" (
    id              text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier      text,
    "createdAt"     timestamptz NOT NULL DEFAULT now(),
    "modifiedAt"    timestamptz NOT NULL DEFAULT now(),
    "createdBy"     text,
    "modifiedBy"    text,
    "deletedAt"     timestamptz,
    metadata        jsonb,
    "principalType" text,
    "principalId"   text,
    name            text,
    locale          text,
    "paperWidth"    integer,
    "fontSize"      integer,
    "isDefault"     boolean     NOT NULL DEFAULT false,
    content         jsonb,
    CONSTRAINT "ReceiptTemplate_pkey" PRIMARY KEY (id)
);

CREATE TABLE "Setting" (
    id              text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier      text,
    "createdAt"     timestamptz NOT NULL DEFAULT now(),
    "modifiedAt"    timestamptz NOT NULL DEFAULT now(),
    "createdBy"     text,
    "modifiedBy"    text,
    "deletedAt"     timestamptz,
    metadata        jsonb,
    "principalType" text,
    "principalId"   text,
    status          text        NOT NULL DEFAULT 'ACTIVATED',
    CONSTRAINT "Setting_pkey" PRIMARY KEY (id)
);

CREATE TABLE allocation."AllocationLayout" (
    id           text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier   text,
    "createdAt"  timestamptz NOT NULL DEFAULT now(),
    "modifiedAt" timestamptz NOT NULL DEFAULT now(),
    "createdBy"  text,
    "modifiedBy" text,
    "deletedAt"  timestamptz,
    metadata     jsonb,
    name         jsonb,
    "merchantId" text,
    CONSTRAINT "AllocationLayout_pkey" PRIMARY KEY (id),
    CONSTRAINT "AllocationLayout_merchantId_fkey" FOREIGN KEY ("merchantId") REFERENCES "Merchant" (id)
);

CREATE TABLE allocation."AllocationZone" (
    id           text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier   text,
    "createdAt"  timestamptz NOT NULL DEFAULT now(),
    "modifiedAt" timestamptz NOT NULL DEFAULT now(),
    "createdBy"  text,
    "modifiedBy" text,
    "deletedAt"  timestamptz,
    metadata     jsonb,
    name         jsonb,
    "layoutId"   text        NOT NULL,
    "parentId"   text,
    style        jsonb,
    CONSTRAINT "AllocationZone_pkey" PRIMARY KEY (id),
    CONSTRAINT "AllocationZone_layoutId_fkey" FOREIGN KEY ("layoutId") REFERENCES allocation."AllocationLayout" (id),
    CONSTRAINT "AllocationZone_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES allocation."AllocationZone" (id)
);

CREATE TABLE allocation."AllocationUnit" (
    id           text        NOT NULL DEFAULT nx_snowflake_id(),
    identifier   text,
    "createdAt"  timestamptz NOT NULL DEFAULT now(),
    "modifiedAt" timestamptz NOT NULL DEFAULT now(),
    "createdBy"  text,
    "modifiedBy" text,
    "deletedAt"  timestamptz,
    metadata     jsonb,
    name         jsonb,
    "zoneId"     text        NOT NULL,
    placement    jsonb,
    style        jsonb,
    capacity     integer,
    status       text        NOT NULL DEFAULT 'ACTIVATED',
    CONSTRAINT "AllocationUnit_pkey" PRIMARY KEY (id),
    CONSTRAINT "AllocationUnit_zoneId_fkey" FOREIGN KEY ("zoneId") REFERENCES allocation."AllocationZone" (id)
);

-- ---------------------------------------------------------------------------------------------------------
-- Stand-ins for CRM modules the seed names but does not define. All CRM access goes through
-- workers/crm.py, so pointing at the real modules later changes one place.
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE "VariantPrice" (
    id               text          NOT NULL DEFAULT nx_snowflake_id(),
    "createdAt"      timestamptz   NOT NULL DEFAULT now(),
    "modifiedAt"     timestamptz   NOT NULL DEFAULT now(),
    "deletedAt"      timestamptz,
    "variantId"      text          NOT NULL,
    "merchantId"     text          NOT NULL,
    currency         text          NOT NULL DEFAULT 'VND',
    amount           numeric(18,2) NOT NULL,
    "compareAtAmount" numeric(18,2),
    CONSTRAINT "VariantPrice_pkey" PRIMARY KEY (id),
    CONSTRAINT "VariantPrice_variantId_fkey" FOREIGN KEY ("variantId") REFERENCES "ProductVariant" (id),
    CONSTRAINT "VariantPrice_merchantId_fkey" FOREIGN KEY ("merchantId") REFERENCES "Merchant" (id),
    CONSTRAINT "VariantPrice_amount_check" CHECK (amount >= 0)
);
CREATE UNIQUE INDEX "VariantPrice_variant_currency_key" ON "VariantPrice" ("variantId", currency)
    WHERE "deletedAt" IS NULL;
CREATE INDEX "VariantPrice_modifiedAt_idx" ON "VariantPrice" ("modifiedAt");
COMMENT ON TABLE "VariantPrice" IS
    'nfsync: STAND-IN for @nx/pricing (the seed says prices live there and does not define it): one selling price '
    'per variant and currency.';

CREATE TABLE "StockLevel" (
    id           text          NOT NULL DEFAULT nx_snowflake_id(),
    "createdAt"  timestamptz   NOT NULL DEFAULT now(),
    "modifiedAt" timestamptz   NOT NULL DEFAULT now(),
    "variantId"  text          NOT NULL,
    "merchantId" text          NOT NULL,
    "locationId" text          NOT NULL DEFAULT 'default',
    "onHand"     numeric(18,3) NOT NULL DEFAULT 0,
    reserved     numeric(18,3) NOT NULL DEFAULT 0,
    CONSTRAINT "StockLevel_pkey" PRIMARY KEY (id),
    CONSTRAINT "StockLevel_variantId_fkey" FOREIGN KEY ("variantId") REFERENCES "ProductVariant" (id),
    CONSTRAINT "StockLevel_merchantId_fkey" FOREIGN KEY ("merchantId") REFERENCES "Merchant" (id),
    CONSTRAINT "StockLevel_reserved_check" CHECK (reserved >= 0)
);
CREATE UNIQUE INDEX "StockLevel_variant_location_key" ON "StockLevel" ("variantId", "locationId");
CREATE INDEX "StockLevel_modifiedAt_idx" ON "StockLevel" ("modifiedAt");
COMMENT ON TABLE "StockLevel" IS
    'nfsync: STAND-IN for the CRM inventory module (named by the seed, not defined): on-hand and reserved quantity '
    'per variant and location; available = onHand - reserved.';

-- Customers (issue #18): a STAND-IN in the seed's conventions; personal data encrypted at rest.
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

CREATE TABLE "SalesOrder" (
    id                text          NOT NULL DEFAULT nx_snowflake_id(),
    identifier        text,
    "createdAt"       timestamptz   NOT NULL DEFAULT now(),
    "modifiedAt"      timestamptz   NOT NULL DEFAULT now(),
    "deletedAt"       timestamptz,
    metadata          jsonb,
    "merchantId"      text          NOT NULL,
    "saleChannelId"   text,
    "sourcePlatform"  text          NOT NULL,
    "sourceShopId"    text          NOT NULL,
    "externalOrderId" text          NOT NULL,
    status            text          NOT NULL DEFAULT 'PENDING',
    currency          text          NOT NULL DEFAULT 'VND',
    subtotal          numeric(18,2) NOT NULL DEFAULT 0,
    "shippingFee"     numeric(18,2) NOT NULL DEFAULT 0,
    discount          numeric(18,2) NOT NULL DEFAULT 0,
    total             numeric(18,2) NOT NULL DEFAULT 0,
    buyer             jsonb,
    "shippingAddress" jsonb,
    "placedAt"        timestamptz,
    "customerId"      text,
    CONSTRAINT "SalesOrder_pkey" PRIMARY KEY (id),
    CONSTRAINT "SalesOrder_merchantId_fkey" FOREIGN KEY ("merchantId") REFERENCES "Merchant" (id),
    CONSTRAINT "SalesOrder_saleChannelId_fkey" FOREIGN KEY ("saleChannelId") REFERENCES "SaleChannel" (id),
    CONSTRAINT "SalesOrder_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer" (id),
    CONSTRAINT "SalesOrder_status_check" CHECK (status IN ('PENDING', 'CONFIRMED', 'PROCESSING', 'SHIPPED',
                                                         'DELIVERED', 'COMPLETED', 'CANCELLED', 'RETURNED'))
);
CREATE UNIQUE INDEX "SalesOrder_source_key" ON "SalesOrder" ("sourcePlatform", "sourceShopId", "externalOrderId");
CREATE INDEX "SalesOrder_merchantId_idx" ON "SalesOrder" ("merchantId", "createdAt");
COMMENT ON TABLE "SalesOrder" IS
    'nfsync: STAND-IN for the CRM sales module''s orders (not described by the seed); a marketplace order is '
    'imported here exactly once, keyed by (sourcePlatform, sourceShopId, externalOrderId).';
CREATE INDEX "SalesOrder_customerId_idx" ON "SalesOrder" ("customerId");
COMMENT ON COLUMN "SalesOrder".buyer IS
    'The platform''s buyer fields, each an enc:v1 ciphertext (personal data); {"erased": true} once erased.';
COMMENT ON COLUMN "SalesOrder"."customerId" IS 'The buyer as a CRM "Customer" (NULL when the platform names none).';

CREATE TABLE "SalesOrderLine" (
    id           text          NOT NULL DEFAULT nx_snowflake_id(),
    "createdAt"  timestamptz   NOT NULL DEFAULT now(),
    "modifiedAt" timestamptz   NOT NULL DEFAULT now(),
    "orderId"    text          NOT NULL,
    "lineNo"     integer       NOT NULL,
    "variantId"  text,
    sku          text,
    name         text          NOT NULL,
    quantity     numeric(18,3) NOT NULL,
    "unitPrice"  numeric(18,2) NOT NULL,
    total        numeric(18,2) NOT NULL,
    "externalLineId" text,
    CONSTRAINT "SalesOrderLine_pkey" PRIMARY KEY (id),
    CONSTRAINT "SalesOrderLine_orderId_fkey" FOREIGN KEY ("orderId") REFERENCES "SalesOrder" (id) ON DELETE CASCADE,
    CONSTRAINT "SalesOrderLine_variantId_fkey" FOREIGN KEY ("variantId") REFERENCES "ProductVariant" (id)
);
CREATE UNIQUE INDEX "SalesOrderLine_order_line_key" ON "SalesOrderLine" ("orderId", "lineNo");
COMMENT ON TABLE "SalesOrderLine" IS
    'nfsync: STAND-IN for the CRM sales module''s order lines; variantId is null when no CRM variant matched.';

-- CRM change outbox: stock and price changes of variants, so the scheduler can push them within seconds.
CREATE TABLE crm_change_events (
    id         bigint      GENERATED ALWAYS AS IDENTITY,
    variant_id text        NOT NULL,
    kind       text        NOT NULL,
    created_at timestamp   NOT NULL DEFAULT now(),
    CONSTRAINT crm_change_events_pkey PRIMARY KEY (id),
    CONSTRAINT crm_change_events_kind_check CHECK (kind IN ('stock', 'price'))
);
COMMENT ON TABLE crm_change_events IS
    'nfsync: outbox written by triggers on "StockLevel", "VariantPrice", "ProductBundler" and the state of '
    '"ProductVariant" and "Product"; the scheduler turns it into inventory_sync / price_sync tasks (variant_ids '
    'filter) for every shop where the variant, or a combo containing it, is listed, then deletes '
    'the rows it handled.';
COMMENT ON COLUMN crm_change_events.id IS 'Increasing id (the order changes were recorded in).';
COMMENT ON COLUMN crm_change_events.variant_id IS 'CRM "ProductVariant".id whose stock or price changed.';
COMMENT ON COLUMN crm_change_events.kind IS 'stock or price.';
COMMENT ON COLUMN crm_change_events.created_at IS 'When the change was recorded (UTC).';

CREATE FUNCTION nfsync_record_crm_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO crm_change_events (variant_id, kind) VALUES (NEW."variantId", TG_ARGV[0]);
    PERFORM pg_notify('nfsync_crm_changes', '');  -- collapsed to one per transaction by PostgreSQL
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION nfsync_record_crm_change() IS
    'nfsync: AFTER trigger of "StockLevel" / "VariantPrice": records the variant in crm_change_events and notifies '
    'channel nfsync_crm_changes, on which the scheduler leader listens to push changes at once.';
CREATE TRIGGER "StockLevel_nfsync_insert" AFTER INSERT ON "StockLevel"
    FOR EACH ROW EXECUTE FUNCTION nfsync_record_crm_change('stock');
CREATE TRIGGER "StockLevel_nfsync_update" AFTER UPDATE ON "StockLevel"
    FOR EACH ROW WHEN (OLD."onHand" IS DISTINCT FROM NEW."onHand" OR OLD.reserved IS DISTINCT FROM NEW.reserved)
    EXECUTE FUNCTION nfsync_record_crm_change('stock');
CREATE TRIGGER "VariantPrice_nfsync_insert" AFTER INSERT ON "VariantPrice"
    FOR EACH ROW EXECUTE FUNCTION nfsync_record_crm_change('price');
CREATE TRIGGER "VariantPrice_nfsync_update" AFTER UPDATE ON "VariantPrice"
    FOR EACH ROW WHEN (OLD.amount IS DISTINCT FROM NEW.amount OR OLD."deletedAt" IS DISTINCT FROM NEW."deletedAt")
    EXECUTE FUNCTION nfsync_record_crm_change('price');
CREATE FUNCTION nfsync_record_bundle_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.type = '000_COMBO' THEN
        INSERT INTO crm_change_events (variant_id, kind) VALUES (OLD."leadVariantId", 'stock');
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.type = '000_COMBO'
       AND (TG_OP = 'INSERT' OR NEW."leadVariantId" IS DISTINCT FROM OLD."leadVariantId" OR OLD.type <> '000_COMBO') THEN
        INSERT INTO crm_change_events (variant_id, kind) VALUES (NEW."leadVariantId", 'stock');
    END IF;
    PERFORM pg_notify('nfsync_crm_changes', '');
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION nfsync_record_bundle_change() IS
    'nfsync: AFTER trigger of "ProductBundler": a combo row added, changed or removed records its lead variant in '
    'crm_change_events (kind stock), so every shop listing the combo gets its new offer.';
CREATE TRIGGER "ProductBundler_nfsync_change" AFTER INSERT OR DELETE OR UPDATE OF type, "leadVariantId",
    "relatedVariantId", quantity, "deletedAt" ON "ProductBundler"
    FOR EACH ROW EXECUTE FUNCTION nfsync_record_bundle_change();

CREATE FUNCTION nfsync_record_variant_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'Product' THEN
        INSERT INTO crm_change_events (variant_id, kind)
        SELECT v.id, 'stock' FROM "ProductVariant" v WHERE v."productId" = NEW.id;
    ELSE
        INSERT INTO crm_change_events (variant_id, kind) VALUES (NEW.id, 'stock');
    END IF;
    PERFORM pg_notify('nfsync_crm_changes', '');
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION nfsync_record_variant_state() IS
    'nfsync: AFTER UPDATE trigger of "ProductVariant" and "Product": a variant (or every variant of a product) '
    'activated, deactivated or deleted is recorded in crm_change_events (kind stock): its listings and those of '
    'every combo containing it get their new offer (0 while it is not sold).';
CREATE TRIGGER "ProductVariant_nfsync_state" AFTER UPDATE OF status, "deletedAt" ON "ProductVariant"
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD."deletedAt" IS DISTINCT FROM NEW."deletedAt")
    EXECUTE FUNCTION nfsync_record_variant_state();
CREATE TRIGGER "Product_nfsync_state" AFTER UPDATE OF status, "deletedAt" ON "Product"
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD."deletedAt" IS DISTINCT FROM NEW."deletedAt")
    EXECUTE FUNCTION nfsync_record_variant_state();

-- ---------------------------------------------------------------------------------------------------------
-- marketplace_shops (seed section 4)
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE marketplace_shops (
    id              uuid         NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid         NOT NULL,
    account_id      uuid         NOT NULL,
    platform        varchar(50)  NOT NULL,
    shop_id         varchar(100) NOT NULL,
    shop_name       varchar(255) NOT NULL,
    shop_url        varchar(255)          DEFAULT NULL,
    shop_logo       varchar(255)          DEFAULT NULL,
    shop_status     varchar(50)  NOT NULL DEFAULT 'active',
    shop_region     varchar(50)           DEFAULT NULL,
    shop_category   varchar(100)          DEFAULT NULL,
    shop_rating     decimal(3,2)          DEFAULT NULL,
    shop_created_at timestamp             DEFAULT NULL,
    shop_data       jsonb                 DEFAULT NULL,
    sync_status     text         NOT NULL DEFAULT 'pending',
    last_sync_at    timestamp             DEFAULT NULL,
    error_message   text                  DEFAULT NULL,
    created_at      timestamp    NOT NULL DEFAULT now(),
    updated_at      timestamp    NOT NULL DEFAULT now(),
    sale_channel_id text                  DEFAULT NULL,
    integration_id  uuid                  DEFAULT NULL,
    order_cursor_at timestamp             DEFAULT NULL,
    paused_at       timestamp             DEFAULT NULL,
    stale_since     timestamp             DEFAULT NULL,
    CONSTRAINT marketplace_shops_pkey PRIMARY KEY (id),
    CONSTRAINT marketplace_shops_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id),
    CONSTRAINT marketplace_shops_account_id_fkey FOREIGN KEY (account_id) REFERENCES marketplace_accounts (id),
    CONSTRAINT marketplace_shops_sale_channel_id_fkey FOREIGN KEY (sale_channel_id) REFERENCES "SaleChannel" (id),
    CONSTRAINT marketplace_shops_integration_id_fkey
        FOREIGN KEY (integration_id) REFERENCES marketplace_integrations (id),
    CONSTRAINT marketplace_shops_platform_check
        CHECK (platform IN ('shopee', 'lazada', 'tiktok', 'woocommerce', 'shopify')),
    CONSTRAINT marketplace_shops_sync_status_check CHECK (sync_status IN ('pending', 'syncing', 'synced', 'error'))
);
CREATE UNIQUE INDEX marketplace_shops_organization_platform_shop_idx
    ON marketplace_shops (organization_id, platform, shop_id);
CREATE INDEX marketplace_shops_organization_id_idx ON marketplace_shops (organization_id);
CREATE INDEX marketplace_shops_account_id_idx ON marketplace_shops (account_id);
CREATE INDEX marketplace_shops_platform_idx ON marketplace_shops (platform);
CREATE INDEX marketplace_shops_shop_status_idx ON marketplace_shops (shop_status);
CREATE INDEX marketplace_shops_sync_status_idx ON marketplace_shops (sync_status);
CREATE INDEX marketplace_shops_integration_id_idx ON marketplace_shops (integration_id);
CREATE TRIGGER marketplace_shops_touch_updated_at BEFORE UPDATE ON marketplace_shops
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now()::timestamp) EXECUTE FUNCTION nfsync_touch_updated_at();

CREATE FUNCTION marketplace_shops_fill_integration() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.integration_id IS NULL THEN
        SELECT a.integration_id INTO NEW.integration_id FROM marketplace_accounts a WHERE a.id = NEW.account_id;
    END IF;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION marketplace_shops_fill_integration() IS
    'nfsync: fills marketplace_shops.integration_id from the account when a writer (such as the seed''s example) '
    'leaves it out.';
CREATE TRIGGER marketplace_shops_fill_integration BEFORE INSERT ON marketplace_shops
    FOR EACH ROW EXECUTE FUNCTION marketplace_shops_fill_integration();

COMMENT ON TABLE marketplace_shops IS 'Shops on the marketplaces (seed section 4).';
COMMENT ON COLUMN marketplace_shops.id IS 'Primary key.';
COMMENT ON COLUMN marketplace_shops.organization_id IS 'Owning organization.';
COMMENT ON COLUMN marketplace_shops.account_id IS 'Account the shop belongs to.';
COMMENT ON COLUMN marketplace_shops.platform IS 'shopee, lazada, tiktok, woocommerce, shopify.';
COMMENT ON COLUMN marketplace_shops.shop_id IS 'Shop id on the platform.';
COMMENT ON COLUMN marketplace_shops.shop_name IS 'Shop name.';
COMMENT ON COLUMN marketplace_shops.shop_url IS 'Shop URL.';
COMMENT ON COLUMN marketplace_shops.shop_logo IS 'Shop logo URL.';
COMMENT ON COLUMN marketplace_shops.shop_status IS 'Shop status on the platform.';
COMMENT ON COLUMN marketplace_shops.shop_region IS 'Shop region.';
COMMENT ON COLUMN marketplace_shops.shop_category IS 'Shop category.';
COMMENT ON COLUMN marketplace_shops.shop_rating IS 'Shop rating.';
COMMENT ON COLUMN marketplace_shops.shop_created_at IS 'Shop creation time on the platform (UTC).';
COMMENT ON COLUMN marketplace_shops.shop_data IS 'Extra shop data (for TikTok: shop_cipher).';
COMMENT ON COLUMN marketplace_shops.sync_status IS 'pending, syncing, synced, error (text + CHECK).';
COMMENT ON COLUMN marketplace_shops.last_sync_at IS 'Last sync (UTC).';
COMMENT ON COLUMN marketplace_shops.error_message IS 'Latest error.';
COMMENT ON COLUMN marketplace_shops.created_at IS 'Row creation time (UTC).';
COMMENT ON COLUMN marketplace_shops.updated_at IS 'Last update time (UTC), kept by trigger.';
COMMENT ON COLUMN marketplace_shops.sale_channel_id IS
    'nfsync: the CRM "SaleChannel" whose products this shop lists (product_sync reads its "SaleChannelProduct" rows).';
COMMENT ON COLUMN marketplace_shops.integration_id IS
    'nfsync: denormalised from the account (filled by trigger) so per-integration queries need no join.';
COMMENT ON COLUMN marketplace_shops.order_cursor_at IS
    'nfsync: incremental order_sync cursor (platform update time, UTC), advanced only after a window is fully stored.';
COMMENT ON COLUMN marketplace_shops.paused_at IS
    'nfsync: when an operator paused the shop (POST /v1/shops/{id}/pause); its tasks are not claimed until resumed.';
COMMENT ON COLUMN marketplace_shops.stale_since IS
    'nfsync: when shop.stale was emitted (no successful sync within sync_interval x 3); cleared by a success.';

-- ---------------------------------------------------------------------------------------------------------
-- sync_tasks (seed section 5) + the task engine's columns
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE sync_tasks (
    id                  uuid        NOT NULL DEFAULT gen_random_uuid(),
    organization_id     uuid        NOT NULL,
    integration_id      uuid        NOT NULL,
    account_id          uuid                 DEFAULT NULL,
    shop_id             uuid                 DEFAULT NULL,
    task_type           varchar(50) NOT NULL,
    direction           varchar(20) NOT NULL,
    status              text        NOT NULL DEFAULT 'pending',
    priority            integer     NOT NULL DEFAULT 5,
    scheduled_at        timestamp   NOT NULL DEFAULT now(),
    started_at          timestamp            DEFAULT NULL,
    completed_at        timestamp            DEFAULT NULL,
    progress            integer     NOT NULL DEFAULT 0,
    total_items         integer     NOT NULL DEFAULT 0,
    processed_items     integer     NOT NULL DEFAULT 0,
    successful_items    integer     NOT NULL DEFAULT 0,
    failed_items        integer     NOT NULL DEFAULT 0,
    filter_criteria     jsonb                DEFAULT NULL,
    error_message       text                 DEFAULT NULL,
    retry_count         integer     NOT NULL DEFAULT 0,
    max_retries         integer     NOT NULL DEFAULT 3,
    next_retry_at       timestamp            DEFAULT NULL,
    created_at          timestamp   NOT NULL DEFAULT now(),
    updated_at          timestamp   NOT NULL DEFAULT now(),
    created_by          uuid                 DEFAULT NULL,
    platform            varchar(50)          DEFAULT NULL,
    attempt             integer     NOT NULL DEFAULT 0,
    lease_owner         text                 DEFAULT NULL,
    lease_expires_at    timestamp            DEFAULT NULL,
    heartbeat_at        timestamp            DEFAULT NULL,
    dedupe_key          text GENERATED ALWAYS AS (
                            integration_id::text || '/' || COALESCE(shop_id::text, '-') || '/'
                            || task_type || '/' || direction) STORED,
    dispatched_at       timestamp            DEFAULT NULL,
    cancel_requested_at timestamp            DEFAULT NULL,
    coalesced_count     integer     NOT NULL DEFAULT 0,
    result              jsonb                DEFAULT NULL,
    CONSTRAINT sync_tasks_pkey PRIMARY KEY (id),
    CONSTRAINT sync_tasks_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id),
    CONSTRAINT sync_tasks_integration_id_fkey FOREIGN KEY (integration_id) REFERENCES marketplace_integrations (id),
    CONSTRAINT sync_tasks_account_id_fkey FOREIGN KEY (account_id) REFERENCES marketplace_accounts (id),
    CONSTRAINT sync_tasks_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES marketplace_shops (id),
    CONSTRAINT sync_tasks_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id),
    CONSTRAINT sync_tasks_task_type_check CHECK (task_type IN ('product_sync', 'order_sync', 'inventory_sync',
                                                             'price_sync', 'shop_sync', 'customer_sync')),
    CONSTRAINT sync_tasks_direction_check
        CHECK (direction IN ('crm_to_marketplace', 'marketplace_to_crm', 'bidirectional')),
    CONSTRAINT sync_tasks_status_check
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
    CONSTRAINT sync_tasks_priority_check CHECK (priority BETWEEN 1 AND 10),
    CONSTRAINT sync_tasks_progress_check CHECK (progress BETWEEN 0 AND 100),
    CONSTRAINT sync_tasks_platform_check
        CHECK (platform IN ('shopee', 'lazada', 'tiktok', 'woocommerce', 'shopify')),
    CONSTRAINT sync_tasks_lease_check CHECK (status <> 'processing' OR lease_owner IS NOT NULL)
);
CREATE INDEX sync_tasks_organization_id_idx ON sync_tasks (organization_id);
CREATE INDEX sync_tasks_integration_id_idx ON sync_tasks (integration_id);
CREATE INDEX sync_tasks_account_id_idx ON sync_tasks (account_id);
CREATE INDEX sync_tasks_shop_id_idx ON sync_tasks (shop_id);
CREATE INDEX sync_tasks_task_type_idx ON sync_tasks (task_type);
CREATE INDEX sync_tasks_status_idx ON sync_tasks (status);
CREATE INDEX sync_tasks_scheduled_at_idx ON sync_tasks (scheduled_at);
-- nfsync: the claim scans due pending tasks of one platform in claim order.
CREATE INDEX sync_tasks_claim_idx ON sync_tasks (platform, priority DESC, scheduled_at, next_retry_at)
    WHERE status = 'pending';
-- nfsync: lease rescue scans running tasks by expiry.
CREATE INDEX sync_tasks_lease_expires_idx ON sync_tasks (lease_expires_at) WHERE status = 'processing';
-- nfsync: at most one pending, never-started task per (integration, shop, task_type, direction): coalescing target.
CREATE UNIQUE INDEX sync_tasks_coalesce_idx ON sync_tasks (dedupe_key) WHERE status = 'pending' AND attempt = 0;
-- nfsync: at most one running task per (shop, task_type), enforced by the database.
CREATE UNIQUE INDEX sync_tasks_one_running_idx ON sync_tasks (shop_id, task_type)
    WHERE status = 'processing' AND shop_id IS NOT NULL;
CREATE TRIGGER sync_tasks_touch_updated_at BEFORE UPDATE ON sync_tasks
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now()::timestamp) EXECUTE FUNCTION nfsync_touch_updated_at();

CREATE FUNCTION sync_tasks_fill_platform() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.platform IS NULL THEN
        SELECT i.platform INTO NEW.platform FROM marketplace_integrations i WHERE i.id = NEW.integration_id;
    END IF;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION sync_tasks_fill_platform() IS
    'nfsync: fills sync_tasks.platform from the integration when a writer leaves it out.';
CREATE TRIGGER sync_tasks_fill_platform BEFORE INSERT ON sync_tasks
    FOR EACH ROW EXECUTE FUNCTION sync_tasks_fill_platform();

COMMENT ON TABLE sync_tasks IS 'Sync tasks between the CRM and the platforms (seed section 5).';
COMMENT ON COLUMN sync_tasks.id IS 'Primary key.';
COMMENT ON COLUMN sync_tasks.organization_id IS 'Owning organization.';
COMMENT ON COLUMN sync_tasks.integration_id IS 'Integration the task runs for.';
COMMENT ON COLUMN sync_tasks.account_id IS 'Account, when the task is account-scoped.';
COMMENT ON COLUMN sync_tasks.shop_id IS 'Shop (marketplace_shops.id), when the task is shop-scoped.';
COMMENT ON COLUMN sync_tasks.task_type IS 'product_sync, order_sync, inventory_sync, price_sync, shop_sync, customer_sync.';
COMMENT ON COLUMN sync_tasks.direction IS 'crm_to_marketplace, marketplace_to_crm, bidirectional.';
COMMENT ON COLUMN sync_tasks.status IS 'pending, processing, completed, failed, cancelled (text + CHECK).';
COMMENT ON COLUMN sync_tasks.priority IS 'Priority 1-10, higher first.';
COMMENT ON COLUMN sync_tasks.scheduled_at IS 'Not claimed before this time (UTC).';
COMMENT ON COLUMN sync_tasks.started_at IS 'Start of the current or last run (UTC).';
COMMENT ON COLUMN sync_tasks.completed_at IS 'Time the task reached a terminal state (UTC).';
COMMENT ON COLUMN sync_tasks.progress IS 'Progress 0-100.';
COMMENT ON COLUMN sync_tasks.total_items IS 'Items to sync.';
COMMENT ON COLUMN sync_tasks.processed_items IS 'Items processed.';
COMMENT ON COLUMN sync_tasks.successful_items IS 'Items synced successfully.';
COMMENT ON COLUMN sync_tasks.failed_items IS 'Items that failed.';
COMMENT ON COLUMN sync_tasks.filter_criteria IS 'Filter (ids, categories, time bounds, status).';
COMMENT ON COLUMN sync_tasks.error_message IS 'Error summary.';
COMMENT ON COLUMN sync_tasks.retry_count IS 'Retries so far.';
COMMENT ON COLUMN sync_tasks.max_retries IS 'Maximum retries.';
COMMENT ON COLUMN sync_tasks.next_retry_at IS 'Not retried before this time (UTC).';
COMMENT ON COLUMN sync_tasks.created_at IS 'Row creation time (UTC).';
COMMENT ON COLUMN sync_tasks.updated_at IS 'Last update time (UTC), kept by trigger.';
COMMENT ON COLUMN sync_tasks.created_by IS 'Creating user.';
COMMENT ON COLUMN sync_tasks.platform IS
    'nfsync: the integration''s platform, denormalised (filled by trigger) so the per-platform claim needs no join.';
COMMENT ON COLUMN sync_tasks.attempt IS
    'nfsync: fencing token, incremented by every claim; an outcome write must match owner and attempt.';
COMMENT ON COLUMN sync_tasks.lease_owner IS 'nfsync: worker id holding the lease while processing.';
COMMENT ON COLUMN sync_tasks.lease_expires_at IS
    'nfsync: lease expiry (UTC), renewed by heartbeat; past it the scheduler rescues the task.';
COMMENT ON COLUMN sync_tasks.heartbeat_at IS 'nfsync: last heartbeat of the lease owner (UTC).';
COMMENT ON COLUMN sync_tasks.dedupe_key IS
    'nfsync: integration/shop/task_type/direction; at most one never-started pending task per key (coalescing).';
COMMENT ON COLUMN sync_tasks.dispatched_at IS
    'nfsync: when the scheduler last re-sent a wake-up for this due task because no worker had claimed it '
    '(lost or delayed wake-up); NULL while the enqueue-time wake-up sufficed.';
COMMENT ON COLUMN sync_tasks.cancel_requested_at IS
    'nfsync: cancellation requested for a running task; the handler stops at its next checkpoint.';
COMMENT ON COLUMN sync_tasks.coalesced_count IS 'nfsync: how many enqueue requests were merged into this task.';
COMMENT ON COLUMN sync_tasks.result IS 'nfsync: handler summary (counts per action, unmatched items, calls).';

CREATE FUNCTION nfsync_merge_filters(a jsonb, b jsonb) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
-- Union of two filter_criteria: the merged filter selects at least every item either one selects.
-- NULL or {} means "everything". Lists are united; updated_after / *_after / *_from take the earliest bound,
-- updated_before / *_before / *_to the latest; any key present on one side only, or with different scalar
-- values, is dropped (a wider sync is always safe: syncs are idempotent); so is an id list past 1000 ids.
DECLARE
    merged jsonb := '{}'::jsonb;
    k      text;
    va     jsonb;
    vb     jsonb;
BEGIN
    IF a IS NULL OR b IS NULL OR a = '{}'::jsonb OR b = '{}'::jsonb THEN
        RETURN NULL;
    END IF;
    FOR k, va IN SELECT key, value FROM jsonb_each(a) LOOP
        vb := b -> k;
        CONTINUE WHEN vb IS NULL;
        IF jsonb_typeof(va) = 'array' AND jsonb_typeof(vb) = 'array' THEN
            -- past 1000 ids the list is worse than the incremental sync it narrows: drop it (sync everything)
            CONTINUE WHEN jsonb_array_length(va) + jsonb_array_length(vb) > 1000;
            -- containment first: the usual merge (one more id, often already there) stays O(n), no sort
            merged := merged || jsonb_build_object(k, CASE WHEN va @> vb THEN va WHEN vb @> va THEN vb
                                                           ELSE va || (SELECT coalesce(jsonb_agg(e), '[]'::jsonb)
                                                                       FROM jsonb_array_elements(vb) AS e
                                                                       WHERE NOT va @> jsonb_build_array(e)) END);
        ELSIF k ~ '(_after|_from)$' AND jsonb_typeof(va) = 'string' AND jsonb_typeof(vb) = 'string' THEN
            merged := merged || jsonb_build_object(k, CASE WHEN (va #>> '{}')::timestamptz <= (vb #>> '{}')::timestamptz
                                                       THEN va ELSE vb END);
        ELSIF k ~ '(_before|_to)$' AND jsonb_typeof(va) = 'string' AND jsonb_typeof(vb) = 'string' THEN
            merged := merged || jsonb_build_object(k, CASE WHEN (va #>> '{}')::timestamptz >= (vb #>> '{}')::timestamptz
                                                       THEN va ELSE vb END);
        ELSIF va = vb THEN
            merged := merged || jsonb_build_object(k, va);
        END IF;
    END LOOP;
    RETURN CASE WHEN merged = '{}'::jsonb THEN NULL ELSE merged END;
END;
$$;
COMMENT ON FUNCTION nfsync_merge_filters(jsonb, jsonb) IS
    'nfsync: coalescing - the union of two filter_criteria (lists merged, time bounds widened, NULL = everything).';

CREATE FUNCTION nfsync_merge_filters_step(state jsonb, filter jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    -- state: the JSON string "none" before the first filter, JSON null once a filter meant "everything"
    SELECT CASE WHEN state = '"none"'::jsonb THEN coalesce(filter, 'null'::jsonb)
                WHEN state = 'null'::jsonb OR filter IS NULL THEN 'null'::jsonb
                ELSE coalesce(nfsync_merge_filters(state, filter), 'null'::jsonb) END
$$;
COMMENT ON FUNCTION nfsync_merge_filters_step(jsonb, jsonb) IS 'nfsync: state function of nfsync_merge_filters_agg.';

CREATE FUNCTION nfsync_merge_filters_final(state jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN state IN ('"none"'::jsonb, 'null'::jsonb) THEN NULL ELSE state END
$$;
COMMENT ON FUNCTION nfsync_merge_filters_final(jsonb) IS 'nfsync: final function of nfsync_merge_filters_agg.';

CREATE AGGREGATE nfsync_merge_filters_agg(jsonb) (
    SFUNC = nfsync_merge_filters_step, STYPE = jsonb, FINALFUNC = nfsync_merge_filters_final, INITCOND = '"none"'
);
COMMENT ON AGGREGATE nfsync_merge_filters_agg(jsonb) IS
    'nfsync: nfsync_merge_filters over a group - the filter of one task that many coalescing requests ask for '
    '(the webhook batch, workers/sql/webhooks.sql webhook_ingest_batch).';

CREATE TABLE sync_task_requests (
    organization_id uuid         NOT NULL,
    idempotency_key varchar(255) NOT NULL,
    task_id         uuid         NOT NULL,
    coalesced       boolean      NOT NULL DEFAULT false,
    created_at      timestamp    NOT NULL DEFAULT now(),
    CONSTRAINT sync_task_requests_pkey PRIMARY KEY (organization_id, idempotency_key),
    CONSTRAINT sync_task_requests_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id),
    CONSTRAINT sync_task_requests_task_id_fkey FOREIGN KEY (task_id) REFERENCES sync_tasks (id) ON DELETE CASCADE
);
CREATE INDEX sync_task_requests_task_id_idx ON sync_task_requests (task_id);
COMMENT ON TABLE sync_task_requests IS
    'nfsync: idempotency keys of enqueue requests -> the task each created or was coalesced into; enqueueing again '
    'with a known key returns that task. Pruned with the task.';
COMMENT ON COLUMN sync_task_requests.organization_id IS 'Organization of the caller (keys are per organization).';
COMMENT ON COLUMN sync_task_requests.idempotency_key IS 'Caller-supplied key (Idempotency-Key header, --idempotency-key).';
COMMENT ON COLUMN sync_task_requests.task_id IS 'The task the request created or was merged into.';
COMMENT ON COLUMN sync_task_requests.coalesced IS 'True when the request was merged into an existing pending task.';
COMMENT ON COLUMN sync_task_requests.created_at IS 'Request time (UTC).';

CREATE TABLE nfsync_workers (
    id           text        NOT NULL,
    hostname     text        NOT NULL,
    pid          integer     NOT NULL,
    platforms    text[]      NOT NULL,
    concurrency  integer     NOT NULL,
    running      integer     NOT NULL DEFAULT 0,
    started_at   timestamp   NOT NULL DEFAULT now(),
    heartbeat_at timestamp   NOT NULL DEFAULT now(),
    stopping     boolean     NOT NULL DEFAULT false,
    CONSTRAINT nfsync_workers_pkey PRIMARY KEY (id)
);
CREATE INDEX nfsync_workers_heartbeat_at_idx ON nfsync_workers (heartbeat_at);
COMMENT ON TABLE nfsync_workers IS
    'nfsync: live worker processes, refreshed by their heartbeat; their tasks are sync_tasks.lease_owner = id.';
COMMENT ON COLUMN nfsync_workers.id IS 'Worker id: host, pid and a random suffix (the lease owner of its tasks).';
COMMENT ON COLUMN nfsync_workers.hostname IS 'Host name.';
COMMENT ON COLUMN nfsync_workers.pid IS 'Process id.';
COMMENT ON COLUMN nfsync_workers.platforms IS 'Platforms whose queues it consumes.';
COMMENT ON COLUMN nfsync_workers.concurrency IS 'Tasks it runs at once per platform.';
COMMENT ON COLUMN nfsync_workers.running IS 'Tasks running at the last heartbeat.';
COMMENT ON COLUMN nfsync_workers.started_at IS 'Start time (UTC).';
COMMENT ON COLUMN nfsync_workers.heartbeat_at IS 'Last heartbeat (UTC).';
COMMENT ON COLUMN nfsync_workers.stopping IS 'True once it received SIGTERM and stopped claiming.';

CREATE TABLE rate_limit_buckets (
    key          text             NOT NULL,
    rate         double precision NOT NULL,
    capacity     double precision NOT NULL,
    tokens       double precision NOT NULL,
    refilled_at  timestamptz      NOT NULL DEFAULT clock_timestamp(),
    paused_until timestamptz               DEFAULT NULL,
    throttles    bigint           NOT NULL DEFAULT 0,
    granted      bigint           NOT NULL DEFAULT 0,
    wait_seconds_total double precision NOT NULL DEFAULT 0,
    CONSTRAINT rate_limit_buckets_pkey PRIMARY KEY (key),
    CONSTRAINT rate_limit_buckets_rate_check CHECK (rate > 0 AND capacity >= 1)
);
COMMENT ON TABLE rate_limit_buckets IS
    'nfsync: the global rate limiter - one token bucket per marketplace app, shop and endpoint class, shared by '
    'every worker process and host. Workers lease tokens in chunks (nfsync_rate_lease) so the database sees '
    'calls / chunk, not one write per marketplace call.';
COMMENT ON COLUMN rate_limit_buckets.key IS 'platform:app id:shop id:endpoint class.';
COMMENT ON COLUMN rate_limit_buckets.rate IS 'Refill rate, calls per second (the platform limit or the integration''s rate_limit).';
COMMENT ON COLUMN rate_limit_buckets.capacity IS 'Most tokens the bucket holds (the burst); half a second of budget.';
COMMENT ON COLUMN rate_limit_buckets.tokens IS 'Tokens available at refilled_at.';
COMMENT ON COLUMN rate_limit_buckets.refilled_at IS 'When tokens was last computed.';
COMMENT ON COLUMN rate_limit_buckets.paused_until IS 'The platform throttled this key: nobody calls before this time.';
COMMENT ON COLUMN rate_limit_buckets.throttles IS 'How many throttle signals this key received.';
COMMENT ON COLUMN rate_limit_buckets.granted IS 'Calls granted on this key (the marketplace-calls counter of /metrics).';
COMMENT ON COLUMN rate_limit_buckets.wait_seconds_total IS
    'Seconds callers were told to wait for this key, summed (the limiter-wait counter of /metrics).';

CREATE FUNCTION nfsync_rate_lease(p_key text, p_rate double precision, p_want integer,
                                  OUT granted integer, OUT wait_seconds double precision)
LANGUAGE plpgsql AS $$
-- Reserves a chunk of p_want calls. The bucket may go into debt: the caller then waits until its chunk is due, so
-- every statement buys a whole chunk and concurrent callers are served in turn. A reservation more than
-- 5 seconds out is refused (granted 0) so a paused or oversubscribed key does not queue without bound.
DECLARE
    b         rate_limit_buckets;
    now_ts    timestamptz := clock_timestamp();
    cap       double precision := greatest(1.0, p_rate / 2);
    available double precision;
BEGIN
    INSERT INTO rate_limit_buckets (key, rate, capacity, tokens, refilled_at)
    VALUES (p_key, p_rate, cap, cap, now_ts)
    ON CONFLICT (key) DO NOTHING;
    SELECT * INTO b FROM rate_limit_buckets WHERE key = p_key FOR UPDATE;
    IF b.paused_until IS NOT NULL AND b.paused_until > now_ts THEN
        granted := 0;
        wait_seconds := extract(epoch FROM b.paused_until - now_ts);
        RETURN;
    END IF;
    available := least(cap, b.tokens + extract(epoch FROM now_ts - b.refilled_at) * p_rate);
    wait_seconds := greatest(0.0, (p_want - available) / p_rate);
    IF wait_seconds > 5.0 THEN
        granted := 0;
        wait_seconds := 1.0;
        RETURN;
    END IF;
    granted := p_want;
    UPDATE rate_limit_buckets SET tokens = available - p_want, refilled_at = now_ts, rate = p_rate, capacity = cap,
                                  granted = rate_limit_buckets.granted + p_want,
                                  wait_seconds_total = wait_seconds_total + wait_seconds
    WHERE key = p_key;
END;
$$;
COMMENT ON FUNCTION nfsync_rate_lease(text, double precision, integer) IS
    'nfsync: reserves p_want calls of a bucket (created on first use); returns how many were granted and how long '
    'to wait before spending them.';

CREATE FUNCTION nfsync_rate_return(p_key text, p_tokens integer) RETURNS void LANGUAGE sql AS $$
    UPDATE rate_limit_buckets SET tokens = least(capacity, tokens + p_tokens) WHERE key = p_key
$$;
COMMENT ON FUNCTION nfsync_rate_return(text, integer) IS 'nfsync: hands back leased tokens a worker did not use.';

CREATE FUNCTION nfsync_rate_pause(p_key text, p_seconds double precision) RETURNS void LANGUAGE sql AS $$
    UPDATE rate_limit_buckets
    SET paused_until = greatest(coalesce(paused_until, clock_timestamp()),
                                clock_timestamp() + make_interval(secs => p_seconds)),
        tokens = 0, throttles = throttles + 1
    WHERE key = p_key
$$;
COMMENT ON FUNCTION nfsync_rate_pause(text, double precision) IS
    'nfsync: the platform throttled this key - everyone waits p_seconds and the bucket starts empty.';

-- ---------------------------------------------------------------------------------------------------------
-- marketplace_webhooks (named by the seed, designed here): the inbox of received pushes
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE marketplace_webhooks (
    id              uuid         NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid         NOT NULL,
    integration_id  uuid         NOT NULL,
    shop_id         uuid                  DEFAULT NULL,
    platform        varchar(50)  NOT NULL,
    event_type      varchar(100) NOT NULL,
    dedupe_key      varchar(255) NOT NULL,
    platform_shop_id varchar(100)         DEFAULT NULL,
    entity_id       varchar(100)          DEFAULT NULL,
    entity_status   varchar(50)           DEFAULT NULL,
    headers         jsonb                 DEFAULT NULL,
    payload         jsonb        NOT NULL,
    status          text         NOT NULL DEFAULT 'received',
    task_id         uuid                  DEFAULT NULL,
    attempts        integer      NOT NULL DEFAULT 0,
    error_message   text                  DEFAULT NULL,
    received_at     timestamp    NOT NULL DEFAULT now(),
    processed_at    timestamp             DEFAULT NULL,
    created_at      timestamp    NOT NULL DEFAULT now(),
    updated_at      timestamp    NOT NULL DEFAULT now(),
    CONSTRAINT marketplace_webhooks_pkey PRIMARY KEY (id),
    CONSTRAINT marketplace_webhooks_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id),
    CONSTRAINT marketplace_webhooks_integration_id_fkey
        FOREIGN KEY (integration_id) REFERENCES marketplace_integrations (id),
    CONSTRAINT marketplace_webhooks_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES marketplace_shops (id),
    CONSTRAINT marketplace_webhooks_task_id_fkey FOREIGN KEY (task_id) REFERENCES sync_tasks (id) ON DELETE SET NULL,
    CONSTRAINT marketplace_webhooks_platform_check
        CHECK (platform IN ('shopee', 'lazada', 'tiktok', 'woocommerce', 'shopify')),
    CONSTRAINT marketplace_webhooks_status_check CHECK (status IN ('received', 'processed', 'ignored', 'failed'))
);
CREATE UNIQUE INDEX marketplace_webhooks_integration_dedupe_key_idx ON marketplace_webhooks (integration_id, dedupe_key);
CREATE INDEX marketplace_webhooks_organization_id_idx ON marketplace_webhooks (organization_id);
CREATE INDEX marketplace_webhooks_shop_id_idx ON marketplace_webhooks (shop_id);
CREATE INDEX marketplace_webhooks_task_id_idx ON marketplace_webhooks (task_id);
CREATE INDEX marketplace_webhooks_received_at_idx ON marketplace_webhooks (received_at);
CREATE INDEX marketplace_webhooks_shop_received_idx ON marketplace_webhooks (shop_id, received_at);
CREATE INDEX marketplace_shops_paused_idx ON marketplace_shops (id) WHERE paused_at IS NOT NULL;
CREATE TRIGGER marketplace_webhooks_touch_updated_at BEFORE UPDATE ON marketplace_webhooks
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now()::timestamp) EXECUTE FUNCTION nfsync_touch_updated_at();

COMMENT ON TABLE marketplace_webhooks IS
    'nfsync (named by the seed): inbox of verified pushes; stored once per (integration, dedupe_key) in the same '
    'transaction that enqueues their work.';
COMMENT ON COLUMN marketplace_webhooks.id IS 'Primary key.';
COMMENT ON COLUMN marketplace_webhooks.organization_id IS 'Owning organization.';
COMMENT ON COLUMN marketplace_webhooks.integration_id IS 'Integration whose endpoint received the push.';
COMMENT ON COLUMN marketplace_webhooks.shop_id IS 'Shop the push is about, when it names one we know.';
COMMENT ON COLUMN marketplace_webhooks.platform IS 'shopee, lazada, tiktok, woocommerce, shopify.';
COMMENT ON COLUMN marketplace_webhooks.event_type IS 'Normalised event type (order_status_changed, product_changed, ...).';
COMMENT ON COLUMN marketplace_webhooks.dedupe_key IS
    'Platform event id where it has one, else the documented composite (shop, type, entity id, timestamp).';
COMMENT ON COLUMN marketplace_webhooks.platform_shop_id IS 'Shop id as the platform sent it.';
COMMENT ON COLUMN marketplace_webhooks.entity_id IS 'Order or item id the push is about, as the platform sent it.';
COMMENT ON COLUMN marketplace_webhooks.entity_status IS 'Status the push reported (order status), when it has one.';
COMMENT ON COLUMN marketplace_webhooks.headers IS 'Relevant request headers, signature headers removed.';
COMMENT ON COLUMN marketplace_webhooks.payload IS 'Parsed body as received.';
COMMENT ON COLUMN marketplace_webhooks.status IS 'received, processed, ignored, failed (text + CHECK).';
COMMENT ON COLUMN marketplace_webhooks.task_id IS 'Task enqueued for this push.';
COMMENT ON COLUMN marketplace_webhooks.attempts IS 'Processing attempts (replays included).';
COMMENT ON COLUMN marketplace_webhooks.error_message IS 'Latest processing error.';
COMMENT ON COLUMN marketplace_webhooks.received_at IS 'Receive time (UTC).';
COMMENT ON COLUMN marketplace_webhooks.processed_at IS 'Time its work was enqueued or it was ignored (UTC).';
COMMENT ON COLUMN marketplace_webhooks.created_at IS 'Row creation time (UTC).';
COMMENT ON COLUMN marketplace_webhooks.updated_at IS 'Last update time (UTC), kept by trigger.';

-- ---------------------------------------------------------------------------------------------------------
-- sync_logs (named by the seed, designed here): one row per item outcome, partitioned by month
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE sync_logs (
    id                 uuid         NOT NULL DEFAULT gen_random_uuid(),
    created_at         timestamp    NOT NULL DEFAULT now(),
    organization_id    uuid         NOT NULL,
    integration_id     uuid         NOT NULL,
    shop_id            uuid                  DEFAULT NULL,
    task_id            uuid                  DEFAULT NULL,
    task_type          varchar(50)           DEFAULT NULL,
    direction          varchar(20)           DEFAULT NULL,
    entity_type        varchar(50)  NOT NULL,
    entity_id          text                  DEFAULT NULL,
    platform_entity_id varchar(100)          DEFAULT NULL,
    action             varchar(20)  NOT NULL,
    status             text         NOT NULL,
    error_code         varchar(100)          DEFAULT NULL,
    error_message      text                  DEFAULT NULL,
    details            jsonb                 DEFAULT NULL,
    duration_ms        integer               DEFAULT NULL,
    CONSTRAINT sync_logs_pkey PRIMARY KEY (id, created_at),
    CONSTRAINT sync_logs_action_check
        CHECK (action IN ('create', 'update', 'delete', 'skip', 'import', 'match', 'refresh', 'check')),
    CONSTRAINT sync_logs_status_check CHECK (status IN ('success', 'skipped', 'failed')),
    CONSTRAINT sync_logs_entity_type_check
        CHECK (entity_type IN ('product', 'variant', 'inventory', 'price', 'order', 'shop', 'account'))
) PARTITION BY RANGE (created_at);
CREATE INDEX sync_logs_organization_created_idx ON sync_logs (organization_id, created_at);
CREATE INDEX sync_logs_shop_created_idx ON sync_logs (shop_id, created_at);
CREATE INDEX sync_logs_task_created_idx ON sync_logs (task_id, created_at);
CREATE INDEX sync_logs_entity_created_idx ON sync_logs (entity_id, created_at);
CREATE INDEX sync_logs_failed_created_idx ON sync_logs (organization_id, created_at) WHERE status = 'failed';

COMMENT ON TABLE sync_logs IS
    'nfsync (named by the seed): one row per item outcome, written in batches; range-partitioned by month on '
    'created_at (sync_logs_YYYYMM, plus sync_logs_default so no row is ever lost); '
    'sync_logs_ensure_partitions() creates future months, retention drops old ones. No foreign keys: logs outlive '
    'pruned tasks and are inserted in bulk.';
COMMENT ON COLUMN sync_logs.id IS 'Row id (primary key with created_at, as partitioning requires).';
COMMENT ON COLUMN sync_logs.created_at IS 'Outcome time (UTC), the partition key.';
COMMENT ON COLUMN sync_logs.organization_id IS 'Owning organization.';
COMMENT ON COLUMN sync_logs.integration_id IS 'Integration.';
COMMENT ON COLUMN sync_logs.shop_id IS 'Shop (marketplace_shops.id).';
COMMENT ON COLUMN sync_logs.task_id IS 'Task that produced the outcome.';
COMMENT ON COLUMN sync_logs.task_type IS 'Task type, copied for reading without the task.';
COMMENT ON COLUMN sync_logs.direction IS 'Direction, copied for reading without the task.';
COMMENT ON COLUMN sync_logs.entity_type IS 'product, variant, inventory, price, order, shop, account.';
COMMENT ON COLUMN sync_logs.entity_id IS 'CRM id of the item.';
COMMENT ON COLUMN sync_logs.platform_entity_id IS 'Platform id of the item.';
COMMENT ON COLUMN sync_logs.action IS 'create, update, delete, skip, import, match, refresh, check.';
COMMENT ON COLUMN sync_logs.status IS 'success, skipped, failed.';
COMMENT ON COLUMN sync_logs.error_code IS 'Platform error code on failure.';
COMMENT ON COLUMN sync_logs.error_message IS 'Reason on failure or skip.';
COMMENT ON COLUMN sync_logs.details IS 'Extra detail (changed fields, values pushed).';
COMMENT ON COLUMN sync_logs.duration_ms IS 'Time spent on the item, when measured.';

CREATE TABLE sync_logs_default PARTITION OF sync_logs DEFAULT;

CREATE FUNCTION sync_logs_ensure_partitions(months_back integer, months_ahead integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    first_month date := date_trunc('month', now())::date - make_interval(months => months_back);
    month_start date;
    month_end   date;
    part_name   text;
    created     integer := 0;
BEGIN
    FOR i IN 0 .. months_back + months_ahead LOOP
        month_start := first_month + make_interval(months => i);
        month_end := month_start + interval '1 month';
        part_name := 'sync_logs_' || to_char(month_start, 'YYYYMM');
        CONTINUE WHEN to_regclass(part_name) IS NOT NULL;
        EXECUTE format('CREATE TABLE %I (LIKE sync_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part_name);
        EXECUTE format('WITH moved AS (DELETE FROM sync_logs_default WHERE created_at >= %L AND created_at < %L '
                       'RETURNING *) INSERT INTO %I SELECT * FROM moved', month_start, month_end, part_name);
        EXECUTE format('ALTER TABLE sync_logs ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       part_name, month_start, month_end);
        created := created + 1;
    END LOOP;
    RETURN created;
END;
$$;
COMMENT ON FUNCTION sync_logs_ensure_partitions(integer, integer) IS
    'nfsync: creates the monthly sync_logs partitions from months_back before to months_ahead after the current '
    'month, moving any rows that had landed in sync_logs_default; returns how many it created. The scheduler '
    'calls it in its maintenance, every 5 minutes.';

CREATE FUNCTION sync_logs_drop_partitions_before(cutoff timestamp) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    part    record;
    dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'sync_logs'::regclass AND c.relname ~ '^sync_logs_[0-9]{6}$'
          AND to_date(substr(c.relname, 11), 'YYYYMM') + interval '1 month' <= cutoff
    LOOP
        EXECUTE format('DROP TABLE %I', part.relname);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END;
$$;
COMMENT ON FUNCTION sync_logs_drop_partitions_before(timestamp) IS
    'nfsync: retention - drops the monthly sync_logs partitions that end at or before cutoff; returns the count.';

SELECT sync_logs_ensure_partitions(1, 3);

-- ---------------------------------------------------------------------------------------------------------
-- product_mappings (named by the seed, designed here): CRM variant <-> platform listing, per shop
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE product_mappings (
    id                  uuid          NOT NULL DEFAULT gen_random_uuid(),
    organization_id     uuid          NOT NULL,
    integration_id      uuid          NOT NULL,
    shop_id             uuid          NOT NULL,
    platform            varchar(50)   NOT NULL,
    product_id          text          NOT NULL,
    variant_id          text          NOT NULL,
    platform_item_id    varchar(100)  NOT NULL,
    platform_variant_id varchar(100)           DEFAULT NULL,
    platform_sku        varchar(255)           DEFAULT NULL,
    status              text          NOT NULL DEFAULT 'active',
    last_pushed_hash    varchar(64)            DEFAULT NULL,
    last_pushed_at      timestamp              DEFAULT NULL,
    last_pushed_price   numeric(18,2)          DEFAULT NULL,
    last_pushed_stock   integer                DEFAULT NULL,
    price_pushed_at     timestamp              DEFAULT NULL,
    stock_pushed_at     timestamp              DEFAULT NULL,
    last_pulled_at      timestamp              DEFAULT NULL,
    error_message       text                   DEFAULT NULL,
    metadata            jsonb                  DEFAULT NULL,
    created_at          timestamp     NOT NULL DEFAULT now(),
    updated_at          timestamp     NOT NULL DEFAULT now(),
    origin              text          NOT NULL DEFAULT 'created',
    last_pushed_fields  jsonb                  DEFAULT NULL,
    CONSTRAINT product_mappings_pkey PRIMARY KEY (id),
    CONSTRAINT product_mappings_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id),
    CONSTRAINT product_mappings_integration_id_fkey
        FOREIGN KEY (integration_id) REFERENCES marketplace_integrations (id),
    CONSTRAINT product_mappings_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES marketplace_shops (id),
    CONSTRAINT product_mappings_product_id_fkey FOREIGN KEY (product_id) REFERENCES "Product" (id),
    CONSTRAINT product_mappings_variant_id_fkey FOREIGN KEY (variant_id) REFERENCES "ProductVariant" (id),
    CONSTRAINT product_mappings_platform_check
        CHECK (platform IN ('shopee', 'lazada', 'tiktok', 'woocommerce', 'shopify')),
    CONSTRAINT product_mappings_status_check CHECK (status IN ('active', 'delisted', 'deleted', 'error')),
    CONSTRAINT product_mappings_origin_check CHECK (origin IN ('created', 'adopted', 'pulled', 'linked'))
);
CREATE UNIQUE INDEX product_mappings_shop_variant_idx ON product_mappings (shop_id, variant_id);
CREATE UNIQUE INDEX product_mappings_shop_platform_item_variant_idx
    ON product_mappings (shop_id, platform_item_id, platform_variant_id) NULLS NOT DISTINCT;
CREATE INDEX product_mappings_organization_id_idx ON product_mappings (organization_id);
CREATE INDEX product_mappings_shop_platform_sku_idx ON product_mappings (shop_id, platform_sku);
CREATE INDEX product_mappings_product_id_idx ON product_mappings (product_id);
CREATE TRIGGER product_mappings_touch_updated_at BEFORE UPDATE ON product_mappings
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now()::timestamp) EXECUTE FUNCTION nfsync_touch_updated_at();

COMMENT ON TABLE product_mappings IS
    'nfsync (named by the seed): CRM variant <-> platform listing (item + variant/model/SKU id), unique both ways '
    'per shop, with what was last pushed so unchanged content is skipped.';
COMMENT ON COLUMN product_mappings.id IS 'Primary key.';
COMMENT ON COLUMN product_mappings.organization_id IS 'Owning organization.';
COMMENT ON COLUMN product_mappings.integration_id IS 'Integration.';
COMMENT ON COLUMN product_mappings.shop_id IS 'Shop (marketplace_shops.id).';
COMMENT ON COLUMN product_mappings.platform IS 'shopee, lazada, tiktok, woocommerce, shopify.';
COMMENT ON COLUMN product_mappings.product_id IS 'CRM "Product".id.';
COMMENT ON COLUMN product_mappings.variant_id IS 'CRM "ProductVariant".id.';
COMMENT ON COLUMN product_mappings.platform_item_id IS 'Listing id on the platform (item_id, product_id, ...).';
COMMENT ON COLUMN product_mappings.platform_variant_id IS
    'Variant id on the platform (Shopee model_id, Lazada SkuId, TikTok sku id, WooCommerce variation id); '
    'null for a listing without variants.';
COMMENT ON COLUMN product_mappings.platform_sku IS 'Seller SKU on the platform.';
COMMENT ON COLUMN product_mappings.status IS 'active, delisted, deleted, error (text + CHECK).';
COMMENT ON COLUMN product_mappings.last_pushed_hash IS 'SHA-256 of the listing content last pushed.';
COMMENT ON COLUMN product_mappings.last_pushed_at IS 'Time the content was last pushed (UTC).';
COMMENT ON COLUMN product_mappings.last_pushed_price IS 'Price last pushed.';
COMMENT ON COLUMN product_mappings.last_pushed_stock IS 'Available quantity last pushed.';
COMMENT ON COLUMN product_mappings.price_pushed_at IS 'Time the price was last pushed (UTC).';
COMMENT ON COLUMN product_mappings.stock_pushed_at IS 'Time the stock was last pushed (UTC).';
COMMENT ON COLUMN product_mappings.last_pulled_at IS 'Time the listing was last read from the platform (UTC).';
COMMENT ON COLUMN product_mappings.error_message IS 'Latest error for this listing.';
COMMENT ON COLUMN product_mappings.metadata IS 'Extra data (platform category, listing status).';
COMMENT ON COLUMN product_mappings.created_at IS 'Row creation time (UTC).';
COMMENT ON COLUMN product_mappings.updated_at IS 'Last update time (UTC), kept by trigger.';
COMMENT ON COLUMN product_mappings.origin IS
    'How the listing was linked: created (by nfsync; the CRM owns its content), adopted (found by SKU on a push), '
    'pulled (matched on a pull) or linked (by hand, POST /v1/mappings); adopted, pulled and linked listings get '
    'stock and price only unless config.catalog.content is crm.';
COMMENT ON COLUMN product_mappings.last_pushed_fields IS
    'Digest per content field last pushed (name, description, category_id, variants): what a push would change.';

-- ---------------------------------------------------------------------------------------------------------
-- order_mappings (named by the seed, designed here): platform order <-> CRM order, per shop
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE order_mappings (
    id                  uuid         NOT NULL DEFAULT gen_random_uuid(),
    organization_id     uuid         NOT NULL,
    integration_id      uuid         NOT NULL,
    shop_id             uuid         NOT NULL,
    platform            varchar(50)  NOT NULL,
    platform_order_id   varchar(100) NOT NULL,
    crm_order_id        text         NOT NULL,
    platform_status     varchar(50)  NOT NULL,
    crm_status          varchar(50)  NOT NULL,
    platform_updated_at timestamp    NOT NULL,
    last_synced_at      timestamp    NOT NULL DEFAULT now(),
    sync_count          integer      NOT NULL DEFAULT 1,
    metadata            jsonb                 DEFAULT NULL,
    created_at          timestamp    NOT NULL DEFAULT now(),
    updated_at          timestamp    NOT NULL DEFAULT now(),
    CONSTRAINT order_mappings_pkey PRIMARY KEY (id),
    CONSTRAINT order_mappings_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id),
    CONSTRAINT order_mappings_integration_id_fkey
        FOREIGN KEY (integration_id) REFERENCES marketplace_integrations (id),
    CONSTRAINT order_mappings_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES marketplace_shops (id),
    CONSTRAINT order_mappings_crm_order_id_fkey FOREIGN KEY (crm_order_id) REFERENCES "SalesOrder" (id),
    CONSTRAINT order_mappings_platform_check
        CHECK (platform IN ('shopee', 'lazada', 'tiktok', 'woocommerce', 'shopify'))
);
CREATE UNIQUE INDEX order_mappings_shop_platform_order_idx ON order_mappings (shop_id, platform_order_id);
CREATE UNIQUE INDEX order_mappings_crm_order_id_idx ON order_mappings (crm_order_id);
CREATE INDEX order_mappings_organization_id_idx ON order_mappings (organization_id);
CREATE INDEX order_mappings_platform_updated_at_idx ON order_mappings (shop_id, platform_updated_at);
CREATE TRIGGER order_mappings_touch_updated_at BEFORE UPDATE ON order_mappings
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now()::timestamp) EXECUTE FUNCTION nfsync_touch_updated_at();

COMMENT ON TABLE order_mappings IS
    'nfsync (named by the seed): platform order <-> CRM order, unique per (shop, platform order id), so an order '
    'is imported exactly once however many pushes and polls see it.';
COMMENT ON COLUMN order_mappings.id IS 'Primary key.';
COMMENT ON COLUMN order_mappings.organization_id IS 'Owning organization.';
COMMENT ON COLUMN order_mappings.integration_id IS 'Integration.';
COMMENT ON COLUMN order_mappings.shop_id IS 'Shop (marketplace_shops.id).';
COMMENT ON COLUMN order_mappings.platform IS 'shopee, lazada, tiktok, woocommerce, shopify.';
COMMENT ON COLUMN order_mappings.platform_order_id IS 'Order id on the platform (order_sn, order_id, ...).';
COMMENT ON COLUMN order_mappings.crm_order_id IS 'CRM "SalesOrder".id.';
COMMENT ON COLUMN order_mappings.platform_status IS 'Last seen platform order status.';
COMMENT ON COLUMN order_mappings.crm_status IS 'CRM status it mapped to.';
COMMENT ON COLUMN order_mappings.platform_updated_at IS
    'Platform update time of the last applied version (UTC); an older update never overwrites a newer one.';
COMMENT ON COLUMN order_mappings.last_synced_at IS 'Last time a push or poll touched the order (UTC).';
COMMENT ON COLUMN order_mappings.sync_count IS 'How many times pushes and polls saw the order.';
COMMENT ON COLUMN order_mappings.metadata IS 'Extra data.';
COMMENT ON COLUMN order_mappings.created_at IS 'Row creation time (UTC).';
COMMENT ON COLUMN order_mappings.updated_at IS 'Last update time (UTC), kept by trigger.';

-- ---------------------------------------------------------------------------------------------------------
-- modifiedAt / updated_at triggers for every CRM table and the minimal tables
-- ---------------------------------------------------------------------------------------------------------

CREATE TRIGGER organizations_touch_updated_at BEFORE UPDATE ON organizations
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now()::timestamp) EXECUTE FUNCTION nfsync_touch_updated_at();
CREATE TRIGGER users_touch_updated_at BEFORE UPDATE ON users
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now()::timestamp) EXECUTE FUNCTION nfsync_touch_updated_at();

DO $$
DECLARE
    t regclass;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        '"Organizer"', '"Merchant"', '"Category"', '"Product"', '"ProductVariant"', '"ProductInfo"',
        '"ProductIdentifier"', '"ProductOption"', '"ProductOptionValue"', '"ProductVariantOption"',
        '"ProductBundler"', '"SaleChannel"', '"SaleChannelProduct"', '"Configuration"', '"Device"',
        '"DiscriminationType"', '"ReceiptTemplate"', '"Setting"', 'allocation."AllocationLayout"',
        'allocation."AllocationZone"', 'allocation."AllocationUnit"', '"VariantPrice"', '"StockLevel"',
        '"SalesOrder"', '"SalesOrderLine"']::regclass[]
    LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION nx_touch_modified_at()',
                       (SELECT relname FROM pg_class WHERE oid = t) || '_touch_modified_at', t);
    END LOOP;
END;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- API tokens and row-level security (the HTTP service)
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE api_tokens (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid                 DEFAULT NULL,
    name            varchar(100) NOT NULL,
    token_hash      varchar(64) NOT NULL,
    scopes          text[]      NOT NULL,
    created_at      timestamp   NOT NULL DEFAULT now(),
    last_used_at    timestamp            DEFAULT NULL,
    revoked_at      timestamp            DEFAULT NULL,
    kind            text        NOT NULL DEFAULT 'tenant',
    expires_at      timestamp            DEFAULT NULL,
    CONSTRAINT api_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT api_tokens_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id),
    CONSTRAINT api_tokens_scopes_check CHECK (scopes <@ ARRAY['tasks:read', 'tasks:write', 'integrations:write',
                                                              'ops:read', 'ops:write', 'admin']::text[]),
    CONSTRAINT api_tokens_kind_check CHECK (kind IN ('tenant', 'operator')),
    CONSTRAINT api_tokens_organization_check CHECK ((kind = 'operator') = (organization_id IS NULL)),
    CONSTRAINT api_tokens_admin_check CHECK (kind = 'operator' OR NOT ('admin' = ANY (scopes)))
);
CREATE UNIQUE INDEX api_tokens_token_hash_idx ON api_tokens (token_hash);
CREATE INDEX api_tokens_organization_id_idx ON api_tokens (organization_id);
COMMENT ON TABLE api_tokens IS
    'nfsync: bearer tokens of the HTTP API and the AMQP commands, stored as SHA-256 hashes (the token is shown once, '
    'at creation). A tenant token is scoped to one organization; an operator token to none, and only it may hold '
    'the fleet-wide admin scope.';
COMMENT ON COLUMN api_tokens.id IS 'Primary key.';
COMMENT ON COLUMN api_tokens.organization_id IS
    'Organization every call with this token is scoped to (NULL for an operator token).';
COMMENT ON COLUMN api_tokens.name IS 'Label for people.';
COMMENT ON COLUMN api_tokens.token_hash IS 'Hex SHA-256 of the token.';
COMMENT ON COLUMN api_tokens.scopes IS 'tasks:read, tasks:write, integrations:write, ops:read, ops:write, admin.';
COMMENT ON COLUMN api_tokens.created_at IS 'Creation time (UTC).';
COMMENT ON COLUMN api_tokens.last_used_at IS 'Last authenticated call (UTC), updated at most once a minute.';
COMMENT ON COLUMN api_tokens.revoked_at IS 'Revocation time (UTC); a revoked token authenticates nothing.';
COMMENT ON COLUMN api_tokens.kind IS 'nfsync: tenant (one organization) or operator (the fleet, no organization).';
COMMENT ON COLUMN api_tokens.expires_at IS 'nfsync: end of validity (UTC); NULL = until revoked.';

-- The HTTP service's role: not the owner, no BYPASSRLS, so row-level security applies to it. Every API transaction
-- sets app.organization_id; unset, it sees zero rows. Operator calls do not take this role (the owner's).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nfsync_app') THEN
        CREATE ROLE nfsync_app NOLOGIN NOBYPASSRLS;
    END IF;
END;
$$;

CREATE FUNCTION nfsync_tenant_visible(row_organization uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT row_organization = nullif(current_setting('app.organization_id', true), '')::uuid
$$;
COMMENT ON FUNCTION nfsync_tenant_visible(uuid) IS
    'nfsync: row-level security predicate - the row belongs to the organization of the current API transaction. '
    'Nothing the role can set widens it: operators do not run under this role.';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['organizations', 'users', 'marketplace_integrations', 'marketplace_accounts',
                             'marketplace_shops', 'sync_tasks', 'sync_task_requests', 'marketplace_webhooks',
                             'sync_logs', 'product_mappings', 'order_mappings', 'api_tokens']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I TO nfsync_app USING (nfsync_tenant_visible(%s))',
                       t || '_tenant', t, CASE WHEN t = 'organizations' THEN 'id' ELSE 'organization_id' END);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO nfsync_app', t);
    END LOOP;
    GRANT USAGE ON SCHEMA public TO nfsync_app;
    GRANT SELECT ON nfsync_workers, rate_limit_buckets TO nfsync_app;
END;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Tenancy of the CRM: which organization owns a merchant, and the check every shop write makes (issue #13)
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE organization_merchants (
    merchant_id     text      NOT NULL,
    organization_id uuid      NOT NULL,
    created_at      timestamp NOT NULL DEFAULT now(),
    CONSTRAINT organization_merchants_pkey PRIMARY KEY (merchant_id),
    CONSTRAINT organization_merchants_merchant_id_fkey FOREIGN KEY (merchant_id) REFERENCES "Merchant" (id),
    CONSTRAINT organization_merchants_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id)
);
CREATE INDEX organization_merchants_organization_id_idx ON organization_merchants (organization_id);
COMMENT ON TABLE organization_merchants IS
    'nfsync: which organization owns a CRM merchant (the tenant boundary below the API); one organization per '
    'merchant. Written by operators (nfsync orgs link-merchant), read by the shop trigger and the sync handlers.';
COMMENT ON COLUMN organization_merchants.merchant_id IS 'The CRM "Merchant".';
COMMENT ON COLUMN organization_merchants.organization_id IS 'The organization whose shops may sell its catalog.';
COMMENT ON COLUMN organization_merchants.created_at IS 'When it was linked (UTC).';
ALTER TABLE organization_merchants ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_merchants_tenant ON organization_merchants TO nfsync_app
    USING (nfsync_tenant_visible(organization_id));
GRANT SELECT ON organization_merchants TO nfsync_app;

-- Erasures of customers' personal data (issue #18): the record that it happened, without the data.
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

CREATE FUNCTION marketplace_shops_check_sale_channel() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.sale_channel_id IS NULL OR (TG_OP = 'UPDATE' AND NEW.sale_channel_id IS NOT DISTINCT FROM OLD.sale_channel_id
                                           AND NEW.organization_id = OLD.organization_id) THEN
        RETURN NEW;  -- an unchanged channel is not checked again (a shop with a channel unlinked since can be deactivated)
    END IF;
    -- KEY SHARE: the link cannot be removed until this transaction ends
    PERFORM 1
    FROM "SaleChannel" c
    JOIN organization_merchants om ON om.merchant_id = c."merchantId"
    WHERE c.id = NEW.sale_channel_id AND c."deletedAt" IS NULL AND om.organization_id = NEW.organization_id
    FOR KEY SHARE OF om;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sale channel % is not a channel of this organization''s merchants', NEW.sale_channel_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'marketplace_shops_sale_channel_tenant';
    END IF;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION marketplace_shops_check_sale_channel() IS
    'nfsync: a shop may only name a live sale channel of a merchant linked to its own organization '
    '(organization_merchants); answers like a missing foreign key. SECURITY DEFINER: the API role reads no CRM table.';
CREATE TRIGGER marketplace_shops_check_sale_channel
    BEFORE INSERT OR UPDATE OF sale_channel_id, organization_id ON marketplace_shops
    FOR EACH ROW EXECUTE FUNCTION marketplace_shops_check_sale_channel();

-- ---------------------------------------------------------------------------------------------------------
-- OAuth states (issue #13)
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE oauth_states (
    nonce           varchar(64)  NOT NULL,
    organization_id uuid         NOT NULL,
    integration_id  uuid         NOT NULL,
    token_id        uuid         NOT NULL,
    redirect_uri    varchar(500) NOT NULL,
    created_at      timestamp    NOT NULL DEFAULT now(),
    expires_at      timestamp    NOT NULL,
    used_at         timestamp             DEFAULT NULL,
    CONSTRAINT oauth_states_pkey PRIMARY KEY (nonce),
    CONSTRAINT oauth_states_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id),
    CONSTRAINT oauth_states_integration_id_fkey
        FOREIGN KEY (integration_id) REFERENCES marketplace_integrations (id) ON DELETE CASCADE,
    CONSTRAINT oauth_states_token_id_fkey FOREIGN KEY (token_id) REFERENCES api_tokens (id) ON DELETE CASCADE
);
CREATE INDEX oauth_states_expires_at_idx ON oauth_states (expires_at);
COMMENT ON TABLE oauth_states IS
    'nfsync: one row per OAuth authorize URL handed out: the state''s nonce, who asked, for which integration; '
    'consumed once by the callback. Pruned after expiry by the scheduler''s retention.';
COMMENT ON COLUMN oauth_states.nonce IS 'The random part of the signed state value.';
COMMENT ON COLUMN oauth_states.organization_id IS 'Organization of the integration.';
COMMENT ON COLUMN oauth_states.integration_id IS 'The integration the merchant is connecting.';
COMMENT ON COLUMN oauth_states.token_id IS 'The API token that asked for the URL: revoked, the state is dead.';
COMMENT ON COLUMN oauth_states.redirect_uri IS 'Where the platform was told to send the merchant back.';
COMMENT ON COLUMN oauth_states.created_at IS 'When the URL was handed out (UTC).';
COMMENT ON COLUMN oauth_states.expires_at IS 'After this (UTC) the callback refuses the state.';
COMMENT ON COLUMN oauth_states.used_at IS 'When a callback consumed it (UTC); a used state is refused.';

-- ---------------------------------------------------------------------------------------------------------
-- The keyring check value (issue #13)
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE nfsync_key_check (
    id         boolean   NOT NULL DEFAULT true,
    value      text      NOT NULL,
    updated_at timestamp NOT NULL DEFAULT now(),
    CONSTRAINT nfsync_key_check_pkey PRIMARY KEY (id),
    CONSTRAINT nfsync_key_check_one_row CHECK (id)
);
COMMENT ON TABLE nfsync_key_check IS
    'nfsync: a known text encrypted with the keyring (enc:v1 token): processes refuse to start with a keyring that '
    'cannot decrypt it. One row.';
COMMENT ON COLUMN nfsync_key_check.id IS 'Always true: the table holds one row.';
COMMENT ON COLUMN nfsync_key_check.value IS 'The check text encrypted under the primary key of its time.';
COMMENT ON COLUMN nfsync_key_check.updated_at IS 'When it was written or re-encrypted (UTC).';

-- ---------------------------------------------------------------------------------------------------------
-- Listing profiles (issue #16)
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE listing_profiles (
    id              uuid      NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid      NOT NULL,
    integration_id  uuid      NOT NULL,
    shop_id         uuid               DEFAULT NULL,
    product_id      text               DEFAULT NULL,
    profile         jsonb     NOT NULL,
    source          text      NOT NULL DEFAULT 'api',
    created_at      timestamp NOT NULL DEFAULT now(),
    updated_at      timestamp NOT NULL DEFAULT now(),
    CONSTRAINT listing_profiles_pkey PRIMARY KEY (id),
    CONSTRAINT listing_profiles_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id),
    CONSTRAINT listing_profiles_integration_id_fkey
        FOREIGN KEY (integration_id) REFERENCES marketplace_integrations (id) ON DELETE CASCADE,
    CONSTRAINT listing_profiles_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES marketplace_shops (id) ON DELETE CASCADE,
    CONSTRAINT listing_profiles_product_id_fkey FOREIGN KEY (product_id) REFERENCES "Product" (id),
    CONSTRAINT listing_profiles_source_check CHECK (source IN ('api', 'import')),
    CONSTRAINT listing_profiles_profile_check
        CHECK (jsonb_typeof(profile) = 'object' AND octet_length(profile::text) <= 262144)
);
CREATE UNIQUE INDEX listing_profiles_scope_idx
    ON listing_profiles (integration_id, product_id, shop_id) NULLS NOT DISTINCT;
CREATE INDEX listing_profiles_organization_id_idx ON listing_profiles (organization_id);
CREATE INDEX listing_profiles_product_id_idx ON listing_profiles (product_id);
CREATE INDEX listing_profiles_shop_id_idx ON listing_profiles (shop_id);
CREATE TRIGGER listing_profiles_touch_updated_at BEFORE UPDATE ON listing_profiles
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now()::timestamp) EXECUTE FUNCTION nfsync_touch_updated_at();
COMMENT ON TABLE listing_profiles IS
    'nfsync: what a platform needs to create a listing and the CRM catalog does not hold (category, brand, '
    'attributes, package, logistics, images, sale properties), per CRM product and integration, optionally per '
    'shop; a row without a product holds the integration''s (or the shop''s) defaults. The profile JSON is written '
    'by the API and the import after validation (workers/listing/profiles.py); layers merge from defaults to the '
    'product''s override for a shop.';
COMMENT ON COLUMN listing_profiles.id IS 'Primary key.';
COMMENT ON COLUMN listing_profiles.organization_id IS 'Owning organization (the integration''s).';
COMMENT ON COLUMN listing_profiles.integration_id IS 'The integration, hence the platform, the profile is for.';
COMMENT ON COLUMN listing_profiles.shop_id IS 'A shop of the integration the row overrides for; NULL = every shop.';
COMMENT ON COLUMN listing_profiles.product_id IS 'CRM "Product".id; NULL = the defaults of the integration or shop.';
COMMENT ON COLUMN listing_profiles.profile IS 'The validated profile layer: only the fields it sets.';
COMMENT ON COLUMN listing_profiles.source IS 'api or import: how it was last written.';
COMMENT ON COLUMN listing_profiles.created_at IS 'Row creation time (UTC).';
COMMENT ON COLUMN listing_profiles.updated_at IS 'Last update time (UTC), kept by trigger.';

CREATE FUNCTION listing_profiles_check_scope() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM 1 FROM marketplace_integrations i
    WHERE i.id = NEW.integration_id AND i.organization_id = NEW.organization_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'integration % is not an integration of this organization', NEW.integration_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'listing_profiles_integration_tenant';
    END IF;
    IF NEW.shop_id IS NOT NULL THEN
        PERFORM 1 FROM marketplace_shops s JOIN marketplace_accounts a ON a.id = s.account_id
        WHERE s.id = NEW.shop_id AND a.integration_id = NEW.integration_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'shop % is not a shop of integration %', NEW.shop_id, NEW.integration_id
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'listing_profiles_shop_integration';
        END IF;
    END IF;
    IF NEW.product_id IS NOT NULL THEN
        -- KEY SHARE: the merchant's link to the organization cannot be removed until this transaction ends
        PERFORM 1 FROM "Product" p JOIN organization_merchants om ON om.merchant_id = p."merchantId"
        WHERE p.id = NEW.product_id AND p."deletedAt" IS NULL AND om.organization_id = NEW.organization_id
        FOR KEY SHARE OF om;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'product % is not a product of this organization''s merchants', NEW.product_id
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'listing_profiles_product_tenant';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION listing_profiles_check_scope() IS
    'nfsync: a listing profile names an integration of its own organization, a shop of that integration and a '
    'live product of a merchant linked to the organization; answers like a missing foreign key. SECURITY DEFINER: '
    'the API role reads no CRM table.';
CREATE TRIGGER listing_profiles_check_scope
    BEFORE INSERT OR UPDATE OF organization_id, integration_id, shop_id, product_id ON listing_profiles
    FOR EACH ROW EXECUTE FUNCTION listing_profiles_check_scope();

ALTER TABLE listing_profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY listing_profiles_tenant ON listing_profiles TO nfsync_app USING (nfsync_tenant_visible(organization_id));
GRANT SELECT, INSERT, UPDATE, DELETE ON listing_profiles TO nfsync_app;

-- ---------------------------------------------------------------------------------------------------------
-- Category requirements, cached per shop (issue #16)
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE category_requirements (
    shop_id         uuid         NOT NULL,
    category_id     varchar(100) NOT NULL,
    organization_id uuid         NOT NULL,
    requirements    jsonb        NOT NULL,
    fetched_at      timestamp    NOT NULL DEFAULT now(),
    expires_at      timestamp    NOT NULL,
    CONSTRAINT category_requirements_pkey PRIMARY KEY (shop_id, category_id),
    CONSTRAINT category_requirements_shop_id_fkey
        FOREIGN KEY (shop_id) REFERENCES marketplace_shops (id) ON DELETE CASCADE,
    CONSTRAINT category_requirements_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id)
);
CREATE INDEX category_requirements_expires_at_idx ON category_requirements (expires_at);
CREATE INDEX category_requirements_organization_id_idx ON category_requirements (organization_id);
COMMENT ON TABLE category_requirements IS
    'nfsync: what a platform category asks of a listing (attributes and their values, sale properties, brand and '
    'package rules) as the shop''s platform answered, cached until expires_at (workers/listing/requirements.py).';
COMMENT ON COLUMN category_requirements.shop_id IS 'The shop whose platform (and market) answered.';
COMMENT ON COLUMN category_requirements.category_id IS 'The platform''s category id.';
COMMENT ON COLUMN category_requirements.organization_id IS 'Owning organization (the shop''s).';
COMMENT ON COLUMN category_requirements.requirements IS 'CategoryRequirements as JSON (connectors/base/categories.py).';
COMMENT ON COLUMN category_requirements.fetched_at IS 'When the platform answered (UTC).';
COMMENT ON COLUMN category_requirements.expires_at IS 'After this (UTC) the next read asks the platform again.';
ALTER TABLE category_requirements ENABLE ROW LEVEL SECURITY;
CREATE POLICY category_requirements_tenant ON category_requirements TO nfsync_app
    USING (nfsync_tenant_visible(organization_id));
GRANT SELECT, INSERT, UPDATE, DELETE ON category_requirements TO nfsync_app;

-- ---------------------------------------------------------------------------------------------------------
-- Images uploaded through the platforms' media APIs, per shop (issue #16)
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE listing_media (
    shop_id         uuid          NOT NULL,
    source_url      varchar(2048) NOT NULL,
    organization_id uuid          NOT NULL,
    sha256          varchar(64)   NOT NULL,
    platform_ref    varchar(2048) NOT NULL,
    content_type    varchar(50)   NOT NULL,
    bytes           integer       NOT NULL,
    uploaded_at     timestamp     NOT NULL DEFAULT now(),
    CONSTRAINT listing_media_pkey PRIMARY KEY (shop_id, source_url),
    CONSTRAINT listing_media_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES marketplace_shops (id) ON DELETE CASCADE,
    CONSTRAINT listing_media_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id)
);
CREATE INDEX listing_media_shop_sha256_idx ON listing_media (shop_id, sha256);
CREATE INDEX listing_media_organization_id_idx ON listing_media (organization_id);
COMMENT ON TABLE listing_media IS
    'nfsync: the images uploaded through a shop''s platform media API: the source URL a listing profile named, the '
    'SHA-256 of what it served, and the platform''s reference (Shopee image_id, Lazada URL, TikTok Shop uri), so a '
    're-sync uploads nothing and the same bytes under another URL are not uploaded twice (workers/listing/media.py).';
COMMENT ON COLUMN listing_media.shop_id IS 'The shop whose platform holds the image.';
COMMENT ON COLUMN listing_media.source_url IS 'The URL a listing profile names.';
COMMENT ON COLUMN listing_media.organization_id IS 'Owning organization (the shop''s).';
COMMENT ON COLUMN listing_media.sha256 IS 'Hex SHA-256 of the bytes fetched from source_url.';
COMMENT ON COLUMN listing_media.platform_ref IS 'What the platform''s listing calls take for this image.';
COMMENT ON COLUMN listing_media.content_type IS 'image/jpeg, image/png or image/webp, by the bytes.';
COMMENT ON COLUMN listing_media.bytes IS 'Size of the image uploaded.';
COMMENT ON COLUMN listing_media.uploaded_at IS 'When it was uploaded (UTC).';
ALTER TABLE listing_media ENABLE ROW LEVEL SECURITY;
CREATE POLICY listing_media_tenant ON listing_media TO nfsync_app USING (nfsync_tenant_visible(organization_id));
GRANT SELECT ON listing_media TO nfsync_app;

-- ---------------------------------------------------------------------------------------------------------
-- Events out (issue #17): the outbox the scheduler leader publishes to RabbitMQ
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE event_outbox (
    seq             bigint       GENERATED ALWAYS AS IDENTITY,
    id              uuid         NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid         NOT NULL,
    shop_id         uuid                  DEFAULT NULL,
    type            varchar(64)  NOT NULL,
    subject         varchar(255) NOT NULL,
    data            jsonb        NOT NULL,
    created_at      timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT event_outbox_pkey PRIMARY KEY (seq),
    CONSTRAINT event_outbox_id_key UNIQUE (id),
    CONSTRAINT event_outbox_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id)
        ON DELETE CASCADE,
    CONSTRAINT event_outbox_type_check
        CHECK (type IN ('task.completed', 'task.failed', 'task.cancelled', 'sync.items_failed', 'order.imported',
                        'order.updated', 'listing.created', 'listing.linked', 'shop.authorization_expiring',
                        'shop.reauthorization_needed', 'shop.deauthorized', 'shop.stale', 'subscription.disabled'))
);
CREATE INDEX event_outbox_organization_id_idx ON event_outbox (organization_id);
COMMENT ON TABLE event_outbox IS
    'nfsync: events worth acting on, written in the transaction of the change that caused them and published by '
    'the scheduler leader to the RabbitMQ topic exchange nfsync.events (routing key = type) with publisher '
    'confirms, in seq order; a row is deleted once RabbitMQ confirmed it (workers/engine/events.py).';
COMMENT ON COLUMN event_outbox.seq IS 'Publication order (per shop and overall).';
COMMENT ON COLUMN event_outbox.id IS 'The event''s unique id (CloudEvents id): a consumer deduplicates by it.';
COMMENT ON COLUMN event_outbox.organization_id IS 'The organization the event is about.';
COMMENT ON COLUMN event_outbox.shop_id IS 'The shop the event is about, when there is one.';
COMMENT ON COLUMN event_outbox.type IS 'Event type (CloudEvents type), also the routing key.';
COMMENT ON COLUMN event_outbox.subject IS 'What the event is about within the organization (CloudEvents subject).';
COMMENT ON COLUMN event_outbox.data IS 'The event''s payload (docs/events/<type>.schema.json).';
COMMENT ON COLUMN event_outbox.created_at IS 'When the change happened (CloudEvents time).';
ALTER TABLE event_outbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_outbox_tenant ON event_outbox TO nfsync_app USING (nfsync_tenant_visible(organization_id));
GRANT SELECT ON event_outbox TO nfsync_app;

CREATE FUNCTION nfsync_task_event() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    INSERT INTO event_outbox (organization_id, shop_id, type, subject, data)
    VALUES (NEW.organization_id, NEW.shop_id, 'task.' || NEW.status, 'tasks/' || NEW.id,
            jsonb_build_object(
                'task_id', NEW.id, 'task_type', NEW.task_type, 'direction', NEW.direction,
                'status', NEW.status, 'integration_id', NEW.integration_id, 'shop_id', NEW.shop_id,
                'platform', NEW.platform, 'total_items', NEW.total_items,
                'processed_items', NEW.processed_items, 'successful_items', NEW.successful_items,
                'failed_items', NEW.failed_items, 'error_message', NEW.error_message,
                'retry_count', NEW.retry_count, 'completed_at', NEW.completed_at AT TIME ZONE 'UTC'));
    IF NEW.failed_items > 0 AND NEW.status IN ('completed', 'failed') THEN
        INSERT INTO event_outbox (organization_id, shop_id, type, subject, data)
        SELECT NEW.organization_id, NEW.shop_id, 'sync.items_failed', 'tasks/' || NEW.id,
               jsonb_build_object(
                   'task_id', NEW.id, 'task_type', NEW.task_type, 'integration_id', NEW.integration_id,
                   'shop_id', NEW.shop_id, 'platform', NEW.platform, 'failed_items', NEW.failed_items,
                   'first_failures', coalesce(jsonb_agg(jsonb_build_object(
                       'entity_type', f.entity_type, 'entity_id', f.entity_id,
                       'platform_entity_id', f.platform_entity_id, 'action', f.action,
                       'error_code', f.error_code, 'error_message', f.error_message) ORDER BY f.created_at, f.id),
                       '[]'::jsonb))
        FROM (SELECT * FROM sync_logs l WHERE l.task_id = NEW.id AND l.status = 'failed'
              ORDER BY l.created_at, l.id LIMIT 10) f;
    END IF;
    PERFORM pg_notify('nfsync_events', '');  -- collapsed to one per transaction by PostgreSQL
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION nfsync_task_event() IS
    'nfsync: a task that reaches completed, failed or cancelled writes its task.<status> event to event_outbox in '
    'the same transaction, whoever the writer (worker, lease rescue, API cancel) - and sync.items_failed with the '
    'first ten failed items from sync_logs when some failed - and notifies the channel nfsync_events, on which the '
    'scheduler leader listens to publish at once.';
CREATE TRIGGER sync_tasks_event AFTER UPDATE OF status ON sync_tasks
    FOR EACH ROW WHEN (NEW.status IN ('completed', 'failed', 'cancelled') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION nfsync_task_event();

CREATE FUNCTION nfsync_order_event() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    INSERT INTO event_outbox (organization_id, shop_id, type, subject, data)
    VALUES (NEW.organization_id, NEW.shop_id,
            CASE WHEN TG_OP = 'INSERT' THEN 'order.imported' ELSE 'order.updated' END,
            'shops/' || NEW.shop_id || '/orders/' || NEW.platform_order_id,
            jsonb_build_object(
                'shop_id', NEW.shop_id, 'integration_id', NEW.integration_id, 'platform', NEW.platform,
                'platform_order_id', NEW.platform_order_id, 'crm_order_id', NEW.crm_order_id,
                'platform_status', NEW.platform_status, 'crm_status', NEW.crm_status,
                'previous_platform_status', CASE WHEN TG_OP = 'UPDATE' THEN OLD.platform_status END,
                'previous_crm_status', CASE WHEN TG_OP = 'UPDATE' THEN OLD.crm_status END,
                'platform_updated_at', NEW.platform_updated_at AT TIME ZONE 'UTC'));
    PERFORM pg_notify('nfsync_events', '');
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION nfsync_order_event() IS
    'nfsync: order.imported when an order mapping is created (the order entered the CRM), order.updated when a '
    'newer platform version changed its statuses or update time; written in the same transaction.';
CREATE TRIGGER order_mappings_imported_event AFTER INSERT ON order_mappings
    FOR EACH ROW EXECUTE FUNCTION nfsync_order_event();
CREATE TRIGGER order_mappings_updated_event AFTER UPDATE ON order_mappings
    FOR EACH ROW WHEN (OLD.platform_status IS DISTINCT FROM NEW.platform_status
                       OR OLD.crm_status IS DISTINCT FROM NEW.crm_status
                       OR OLD.platform_updated_at IS DISTINCT FROM NEW.platform_updated_at)
    EXECUTE FUNCTION nfsync_order_event();

CREATE FUNCTION nfsync_listing_event() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $$
DECLARE
    linked jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_agg(to_jsonb(n)) INTO linked FROM inserted n WHERE n.status <> 'deleted';
    ELSE  -- linked anew: to another platform item, or again after a deletion
        SELECT jsonb_agg(to_jsonb(n)) INTO linked
        FROM inserted n JOIN previous o ON o.id = n.id
        WHERE n.status <> 'deleted'
          AND (o.status = 'deleted' OR o.platform_item_id <> n.platform_item_id
               OR o.platform_variant_id IS DISTINCT FROM n.platform_variant_id);
    END IF;
    IF linked IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO event_outbox (organization_id, shop_id, type, subject, data)
    SELECT l.organization_id, l.shop_id,
           CASE WHEN l.origin = 'created' THEN 'listing.created' ELSE 'listing.linked' END,
           'shops/' || l.shop_id || '/listings/' || l.platform_item_id,
           jsonb_build_object(
               'shop_id', l.shop_id, 'integration_id', l.integration_id, 'platform', l.platform,
               'platform_item_id', l.platform_item_id, 'product_id', l.product_id, 'origin', l.origin,
               'variants', jsonb_agg(jsonb_build_object(
                   'variant_id', l.variant_id, 'platform_variant_id', l.platform_variant_id,
                   'platform_sku', l.platform_sku) ORDER BY l.variant_id))
    FROM jsonb_populate_recordset(NULL::product_mappings, linked) l
    GROUP BY l.organization_id, l.shop_id, l.integration_id, l.platform, l.platform_item_id, l.product_id, l.origin
    ORDER BY l.shop_id, l.platform_item_id;
    PERFORM pg_notify('nfsync_events', '');
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION nfsync_listing_event() IS
    'nfsync: one event per platform listing (shop, item, CRM product) a statement linked, with its variants: '
    'listing.created when nfsync created it, listing.linked when an existing listing was adopted, pulled or linked '
    'by hand; an update that moves a mapping to another item, or revives a deleted one, links anew.';
CREATE TRIGGER product_mappings_inserted_event AFTER INSERT ON product_mappings
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION nfsync_listing_event();
CREATE TRIGGER product_mappings_updated_event AFTER UPDATE ON product_mappings
    REFERENCING OLD TABLE AS previous NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION nfsync_listing_event();

CREATE FUNCTION nfsync_shop_event(account uuid, shop uuid, event_type text, detail jsonb) RETURNS integer LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public AS $$
DECLARE
    written integer;
BEGIN
    INSERT INTO event_outbox (organization_id, shop_id, type, subject, data)
    SELECT s.organization_id, s.id, event_type, 'shops/' || s.id,
           jsonb_build_object(
               'shop_id', s.id, 'account_id', a.id, 'integration_id', a.integration_id, 'platform', s.platform,
               'platform_shop_id', s.shop_id, 'shop_name', s.shop_name,
               'reauthorize', '/v1/integrations/' || a.integration_id || '/authorize-url') || detail
    FROM marketplace_shops s JOIN marketplace_accounts a ON a.id = s.account_id
    WHERE s.account_id = account AND (shop IS NULL OR s.id = shop)
    ORDER BY s.created_at, s.id;
    GET DIAGNOSTICS written = ROW_COUNT;
    IF written > 0 THEN
        PERFORM pg_notify('nfsync_events', '');
    END IF;
    RETURN written;
END;
$$;
COMMENT ON FUNCTION nfsync_shop_event(uuid, uuid, text, jsonb) IS
    'nfsync: writes one shop.* event per shop of an account (or for one shop of it) (authorization expiring, re-authorization needed, '
    'deauthorized, stale): the shop, its account and integration, the API path that hands out a fresh authorize '
    'URL, and the detail given.';
REVOKE EXECUTE ON FUNCTION nfsync_shop_event(uuid, uuid, text, jsonb) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------------------
-- HTTP delivery of the events (issue #17)
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE event_subscriptions (
    id              uuid          NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid          NOT NULL,
    url             varchar(2000) NOT NULL,
    event_types     text[]        NOT NULL,
    secret          text          NOT NULL,
    description     varchar(255)           DEFAULT NULL,
    status          text          NOT NULL DEFAULT 'active',
    disabled_at     timestamp              DEFAULT NULL,
    disabled_reason text                   DEFAULT NULL,
    last_success_at timestamp              DEFAULT NULL,
    last_failure_at timestamp              DEFAULT NULL,
    created_at      timestamp     NOT NULL DEFAULT now(),
    updated_at      timestamp     NOT NULL DEFAULT now(),
    CONSTRAINT event_subscriptions_pkey PRIMARY KEY (id),
    CONSTRAINT event_subscriptions_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id)
        ON DELETE CASCADE,
    CONSTRAINT event_subscriptions_status_check CHECK (status IN ('active', 'disabled')),
    CONSTRAINT event_subscriptions_event_types_check CHECK (cardinality(event_types) > 0)
);
CREATE INDEX event_subscriptions_organization_id_idx ON event_subscriptions (organization_id);
CREATE TRIGGER event_subscriptions_touch_updated_at BEFORE UPDATE ON event_subscriptions
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now()::timestamp) EXECUTE FUNCTION nfsync_touch_updated_at();
COMMENT ON TABLE event_subscriptions IS
    'nfsync: an organization''s HTTP subscriber of events (/v1/event-subscriptions): the URL, the event types it '
    'takes (''*'' for all) and its signing secret.';
COMMENT ON COLUMN event_subscriptions.url IS 'Where deliveries are POSTed: https on a public host (SSRF guard).';
COMMENT ON COLUMN event_subscriptions.event_types IS 'Event types delivered (exact types, or ''*'' for every type).';
COMMENT ON COLUMN event_subscriptions.secret IS
    'Standard Webhooks signing secret (whsec_...), encrypted (workers/crypto.py); write-only in the API.';
COMMENT ON COLUMN event_subscriptions.status IS
    'active, or disabled (by the organization, or by nfsync after a day of failed deliveries).';
COMMENT ON COLUMN event_subscriptions.disabled_reason IS 'Why it was disabled.';
COMMENT ON COLUMN event_subscriptions.last_success_at IS 'Last delivery the subscriber accepted (2xx).';
COMMENT ON COLUMN event_subscriptions.last_failure_at IS 'Last delivery attempt that failed.';
ALTER TABLE event_subscriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_subscriptions_tenant ON event_subscriptions TO nfsync_app
    USING (nfsync_tenant_visible(organization_id));
GRANT SELECT, INSERT, UPDATE, DELETE ON event_subscriptions TO nfsync_app;

CREATE TABLE event_deliveries (
    id              bigint       GENERATED ALWAYS AS IDENTITY,
    subscription_id uuid         NOT NULL,
    organization_id uuid         NOT NULL,
    event_id        uuid         NOT NULL,
    type            varchar(64)  NOT NULL,
    subject         varchar(255) NOT NULL,
    data            jsonb        NOT NULL,
    event_time      timestamptz  NOT NULL,
    status          text         NOT NULL DEFAULT 'pending',
    attempts        integer      NOT NULL DEFAULT 0,
    next_attempt_at timestamp    NOT NULL DEFAULT now(),
    last_status     integer               DEFAULT NULL,
    last_error      text                  DEFAULT NULL,
    created_at      timestamp    NOT NULL DEFAULT now(),
    delivered_at    timestamp             DEFAULT NULL,
    CONSTRAINT event_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT event_deliveries_subscription_id_fkey FOREIGN KEY (subscription_id)
        REFERENCES event_subscriptions (id) ON DELETE CASCADE,
    CONSTRAINT event_deliveries_status_check CHECK (status IN ('pending', 'delivered', 'failed'))
);
CREATE UNIQUE INDEX event_deliveries_subscription_event_idx ON event_deliveries (subscription_id, event_id);
CREATE INDEX event_deliveries_due_idx ON event_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX event_deliveries_organization_id_idx ON event_deliveries (organization_id);
COMMENT ON TABLE event_deliveries IS
    'nfsync: one event to one subscriber: a copy of the event, written with it, POSTed until the subscriber accepts '
    'it or a day has passed; kept after delivery for replays until the retention prunes it.';
COMMENT ON COLUMN event_deliveries.event_id IS 'The event''s id: the webhook-id header, the same on every retry.';
COMMENT ON COLUMN event_deliveries.status IS
    'pending (due at next_attempt_at), delivered (2xx), failed (a day of failures; replayable).';
COMMENT ON COLUMN event_deliveries.next_attempt_at IS
    'When it is due (UTC); a sender holds it by moving this past its request timeout.';
COMMENT ON COLUMN event_deliveries.last_status IS 'HTTP status of the last attempt (NULL: no answer).';
ALTER TABLE event_deliveries ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_deliveries_tenant ON event_deliveries TO nfsync_app USING (nfsync_tenant_visible(organization_id));
GRANT SELECT, UPDATE ON event_deliveries TO nfsync_app;

CREATE FUNCTION nfsync_event_deliveries() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public AS $$
BEGIN
    INSERT INTO event_deliveries (subscription_id, organization_id, event_id, type, subject, data, event_time)
    SELECT s.id, e.organization_id, e.id, e.type, e.subject, e.data, e.created_at
    FROM inserted e
    JOIN event_subscriptions s
      ON s.organization_id = e.organization_id AND s.status = 'active'
     AND (e.type = ANY (s.event_types) OR '*' = ANY (s.event_types))
    ORDER BY e.seq, s.id;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION nfsync_event_deliveries() IS
    'nfsync: every event written to event_outbox writes one delivery per active subscription of its organization '
    'that takes its type, in the same transaction.';
CREATE TRIGGER event_outbox_deliveries AFTER INSERT ON event_outbox
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION nfsync_event_deliveries();

-- ---------------------------------------------------------------------------------------------------------
-- Schema history (written by `nfsync db init` and `nfsync db migrate`)
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE nfsync_schema_version (
    version     integer     NOT NULL,
    checksum    varchar(64) NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    name        text,
    duration_ms integer,
    CONSTRAINT nfsync_schema_version_pkey PRIMARY KEY (version)
);
COMMENT ON TABLE nfsync_schema_version IS
    'nfsync: the schema history - the schema.sql version a database was installed from (its lowest version), then '
    'one row per migration applied by `nfsync db migrate`.';
COMMENT ON COLUMN nfsync_schema_version.version IS
    'Schema version after this step: schema.sql''s first line, or the migration''s number.';
COMMENT ON COLUMN nfsync_schema_version.checksum IS
    'SHA-256 of schema.sql or of the migration file; a migration whose file has changed since is refused.';
COMMENT ON COLUMN nfsync_schema_version.applied_at IS 'When db init or db migrate applied it.';
COMMENT ON COLUMN nfsync_schema_version.name IS
    'nfsync: ''schema.sql'' for the install, NNNN_name for a migration (NULL only before this column existed).';
COMMENT ON COLUMN nfsync_schema_version.duration_ms IS 'nfsync: how long the migration ran (NULL for the install).';
