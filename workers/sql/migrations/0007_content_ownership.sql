-- Migration 7: who owns a listing's content (issue #14). A listing nfsync linked to by SKU - adopted on a push or
-- matched on a pull - was rewritten by the next push (title, description, category, attributes; on WooCommerce
-- drafts published and variations the CRM lacks deleted). Each mapping now records how it came to be: `created`
-- (nfsync made the listing: the CRM owns its content), `adopted` or `pulled` (the listing existed: nfsync writes
-- only its stock and price unless config.catalog.content says `crm`).
-- Existing rows cannot tell a created listing from an adopted one; they become `adopted`, or `pulled` when no
-- content was ever pushed, so an upgrade never rewrites a merchant's listing. Set config.catalog.content = "crm"
-- where the CRM is to keep owning content it created before this release.
-- Locks: adds two columns with a constant default (no table rewrite), then updates every row of product_mappings.

ALTER TABLE product_mappings ADD COLUMN origin text NOT NULL DEFAULT 'created';
ALTER TABLE product_mappings ADD COLUMN last_pushed_fields jsonb DEFAULT NULL;
ALTER TABLE product_mappings ADD CONSTRAINT product_mappings_origin_check
    CHECK (origin IN ('created', 'adopted', 'pulled'));
-- the backfill is not an edit of the mapping: updated_at stays as it was
ALTER TABLE product_mappings DISABLE TRIGGER product_mappings_touch_updated_at;
UPDATE product_mappings SET origin = CASE WHEN last_pushed_hash IS NULL THEN 'pulled' ELSE 'adopted' END;
ALTER TABLE product_mappings ENABLE TRIGGER product_mappings_touch_updated_at;
COMMENT ON COLUMN product_mappings.origin IS
    'How the listing was linked: created (by nfsync; the CRM owns its content), adopted (found by SKU on a push) '
    'or pulled (matched on a pull); adopted and pulled listings get stock and price only unless '
    'config.catalog.content is crm.';
COMMENT ON COLUMN product_mappings.last_pushed_fields IS
    'Digest per content field last pushed (name, description, category_id, variants): what a push would change.';
