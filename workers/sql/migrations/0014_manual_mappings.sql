-- Migration 14: mappings linked by hand (issue #17, POST /v1/mappings): product_mappings.origin takes 'linked'.
-- Locks: replaces a check constraint on product_mappings (validated under ACCESS EXCLUSIVE: a scan of the table).

ALTER TABLE product_mappings DROP CONSTRAINT product_mappings_origin_check;
ALTER TABLE product_mappings ADD CONSTRAINT product_mappings_origin_check
    CHECK (origin IN ('created', 'adopted', 'pulled', 'linked'));
COMMENT ON COLUMN product_mappings.origin IS
    'How the listing was linked: created (by nfsync; the CRM owns its content), adopted (found by SKU on a push), '
    'pulled (matched on a pull) or linked (by hand, POST /v1/mappings); adopted, pulled and linked listings get '
    'stock and price only unless config.catalog.content is crm.';
