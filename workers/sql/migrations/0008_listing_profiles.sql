-- Migration 8: listing profiles (issue #16). Shopee, Lazada and TikTok Shop refuse a new listing without what the
-- CRM catalog does not hold - a brand, the category's attributes, package weight and size, logistics channels,
-- images. A listing profile holds it per CRM product and integration (optionally per shop); a row without a product
-- holds the defaults. Nothing reads it yet but the API and the import, so existing pushes are unchanged.
-- Locks: creates a table, a function and their trigger and policy.

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
