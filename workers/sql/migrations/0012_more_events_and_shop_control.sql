-- Migration 12: the rest of the events (issue #17) and shop control. Orders imported or updated and listings
-- created or linked write their events in the transaction that changed them (triggers on order_mappings and
-- product_mappings); shop events (authorization expiring, re-authorization needed, deauthorized, stale) are written
-- by nfsync_shop_event() from the statements that detect them. A shop can be paused (its tasks wait).
-- Locks: adds nullable columns and triggers (brief ACCESS EXCLUSIVE locks on order_mappings, product_mappings,
-- marketplace_shops, marketplace_accounts, event_outbox); builds an index on marketplace_webhooks and a partial
-- one on the (few) paused shops.

ALTER TABLE event_outbox DROP CONSTRAINT event_outbox_type_check;
ALTER TABLE event_outbox ADD CONSTRAINT event_outbox_type_check
    CHECK (type IN ('task.completed', 'task.failed', 'task.cancelled', 'sync.items_failed', 'order.imported',
                    'order.updated', 'listing.created', 'listing.linked', 'shop.authorization_expiring',
                    'shop.reauthorization_needed', 'shop.deauthorized', 'shop.stale'));

ALTER TABLE marketplace_shops ADD COLUMN paused_at timestamp DEFAULT NULL;
ALTER TABLE marketplace_shops ADD COLUMN stale_since timestamp DEFAULT NULL;
COMMENT ON COLUMN marketplace_shops.paused_at IS
    'nfsync: when an operator paused the shop (POST /v1/shops/{id}/pause); its tasks are not claimed until resumed.';
COMMENT ON COLUMN marketplace_shops.stale_since IS
    'nfsync: when shop.stale was emitted (no successful sync within sync_interval x 3); cleared by a success.';
ALTER TABLE marketplace_accounts ADD COLUMN expiry_warned_days integer DEFAULT NULL;
COMMENT ON COLUMN marketplace_accounts.expiry_warned_days IS
    'nfsync: the smallest days-before-lapse threshold (7, 1) already announced by shop.authorization_expiring for '
    'the current refresh_token_expires_at; reset when new tokens are stored.';
CREATE INDEX marketplace_webhooks_shop_received_idx ON marketplace_webhooks (shop_id, received_at);
CREATE INDEX marketplace_shops_paused_idx ON marketplace_shops (id) WHERE paused_at IS NOT NULL;

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
