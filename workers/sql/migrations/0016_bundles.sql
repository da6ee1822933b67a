-- Migration 16: combos, kits and add-ons sell from their components' stock (issue #18, workers/bundles.py).
-- A change that can move a bundle's offer is recorded in crm_change_events like a stock change: a "ProductBundler"
-- row added, changed or removed (for its lead), and a variant or product activated or deactivated (for the variant,
-- which the scheduler then follows up to every combo containing it through the new reverse index).
-- Locks: builds one index on "ProductBundler" and adds triggers on "ProductBundler", "ProductVariant" and "Product"
-- (short SHARE ROW EXCLUSIVE locks; no table is rewritten).

CREATE INDEX "ProductBundler_combo_related_idx" ON "ProductBundler" ("relatedVariantId")
    WHERE "deletedAt" IS NULL AND type = '000_COMBO';

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

COMMENT ON TABLE crm_change_events IS
    'nfsync: outbox written by triggers on "StockLevel", "VariantPrice", "ProductBundler" and the state of '
    '"ProductVariant" and "Product"; the scheduler turns it into inventory_sync / price_sync tasks (variant_ids '
    'filter) for every shop where the variant, or a combo containing it, is listed, then deletes '
    'the rows it handled.';
