-- Migration 10: the images uploaded through each shop's platform media API (issue #16). Shopee, Lazada and TikTok
-- Shop take only images uploaded to them; each upload is recorded with the source URL and the SHA-256 of its bytes,
-- so a re-sync uploads nothing.
-- Locks: creates a table.

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
