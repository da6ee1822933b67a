-- Migration 9: the platforms' category requirements, cached per shop (issue #16). Before a new listing is sent,
-- its attributes are checked against what the category asks for (mandatory attributes, allowed values, brand and
-- package rules); the platform's answer is kept for a day so a re-sync asks nothing.
-- Locks: creates a table.

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
