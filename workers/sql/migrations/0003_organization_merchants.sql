-- Migration 3: tenancy below the API (issue #13). The CRM tables carry no organization, so nfsync now keeps the link
-- organization <-> merchant itself (written by operators: `nfsync orgs link-merchant`), and a shop may only name a
-- sale channel of its own organization's merchants - checked by a trigger in the transaction that writes the shop,
-- and by the sync handlers before they read the CRM through a channel.
-- Existing data: every merchant whose sale channels are used by the shops of exactly ONE organization is linked to
-- it, so running shops keep syncing. A merchant used by several organizations is linked to none (one of them was
-- reaching the other's catalog): those shops' syncs fail with a clear error until an operator links the merchant to
-- its true organization and repoints the other shops.
-- Locks: creates a table and a trigger; marketplace_shops is locked (SHARE ROW EXCLUSIVE) only while its trigger
-- is created - instant.

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

INSERT INTO organization_merchants (merchant_id, organization_id)
SELECT c."merchantId", (array_agg(DISTINCT s.organization_id))[1]
FROM marketplace_shops s
JOIN "SaleChannel" c ON c.id = s.sale_channel_id
GROUP BY c."merchantId"
HAVING count(DISTINCT s.organization_id) = 1;

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
