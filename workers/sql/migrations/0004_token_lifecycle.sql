-- Migration 4: API token lifecycle and operator credentials (issue #13).
-- * api_tokens.kind: 'tenant' tokens belong to one organization and see only it; 'operator' tokens belong to none
--   and are the only ones that may hold the fleet-wide admin scope. Existing tokens with the admin scope become
--   operator tokens (their organization is dropped: it was never their boundary).
-- * api_tokens.expires_at: an optional end of validity.
-- * nfsync_tenant_visible no longer honours app.admin: the API's role could set that itself and read every tenant.
--   Operator calls run as the owner role instead (workers/api/framework.py scope_connection).
-- Locks: ACCESS EXCLUSIVE on api_tokens while its columns and checks are added (a scan of a small table).

ALTER TABLE api_tokens
    ADD COLUMN kind       text      NOT NULL DEFAULT 'tenant',
    ADD COLUMN expires_at timestamp          DEFAULT NULL,
    ALTER COLUMN organization_id DROP NOT NULL;

UPDATE api_tokens SET kind = 'operator', organization_id = NULL WHERE 'admin' = ANY (scopes);

ALTER TABLE api_tokens
    ADD CONSTRAINT api_tokens_kind_check CHECK (kind IN ('tenant', 'operator')),
    ADD CONSTRAINT api_tokens_organization_check CHECK ((kind = 'operator') = (organization_id IS NULL)),
    ADD CONSTRAINT api_tokens_admin_check CHECK (kind = 'operator' OR NOT ('admin' = ANY (scopes)));

COMMENT ON TABLE api_tokens IS
    'nfsync: bearer tokens of the HTTP API and the AMQP commands, stored as SHA-256 hashes (the token is shown once, '
    'at creation). A tenant token is scoped to one organization; an operator token to none, and only it may hold '
    'the fleet-wide admin scope.';
COMMENT ON COLUMN api_tokens.organization_id IS
    'Organization every call with this token is scoped to (NULL for an operator token).';
COMMENT ON COLUMN api_tokens.kind IS 'nfsync: tenant (one organization) or operator (the fleet, no organization).';
COMMENT ON COLUMN api_tokens.expires_at IS 'nfsync: end of validity (UTC); NULL = until revoked.';

CREATE OR REPLACE FUNCTION nfsync_tenant_visible(row_organization uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT row_organization = nullif(current_setting('app.organization_id', true), '')::uuid
$$;
COMMENT ON FUNCTION nfsync_tenant_visible(uuid) IS
    'nfsync: row-level security predicate - the row belongs to the organization of the current API transaction. '
    'Nothing the role can set widens it: operators do not run under this role.';
