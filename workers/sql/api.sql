-- API tokens and organizations (workers/api/).

-- name: organization_create
INSERT INTO organizations (name) VALUES ($1) RETURNING id;

-- name: organization_exists
SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1);

-- name: api_token_create
INSERT INTO api_tokens (organization_id, name, token_hash, scopes) VALUES ($1, $2, $3, $4) RETURNING id;

-- name: api_token_lookup
-- Runs as the table owner: authentication happens before the tenant is known.
SELECT id, organization_id, scopes, last_used_at < now() - interval '60 seconds' AS stale_use
FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL;

-- name: api_token_touch
UPDATE api_tokens SET last_used_at = now() WHERE id = $1;

-- name: api_token_revoke
UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id;

-- name: api_scope
-- Run on every connection the tenant pool hands out (workers/api/framework.py scope_connection).
SELECT set_config('role', 'nfsync_app', false), set_config('app.organization_id', $1, false),
       set_config('app.admin', $2, false);
