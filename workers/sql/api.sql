-- API tokens and organizations (workers/api/).

-- name: organization_create
INSERT INTO organizations (name) VALUES ($1) RETURNING id;

-- name: organization_exists
SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1);

-- name: api_token_create
-- $1 NULL: an operator token (kind and organization are checked together by api_tokens_organization_check).
INSERT INTO api_tokens (organization_id, name, token_hash, scopes, kind, expires_at)
VALUES ($1, $2, $3, $4, CASE WHEN $1::uuid IS NULL THEN 'operator' ELSE 'tenant' END, $5)
RETURNING id;

-- name: api_token_lookup
-- Runs as the table owner: authentication happens before the tenant is known. Revoked and expired tokens, and the
-- tokens of an inactive organization, authenticate nothing.
SELECT t.id, t.organization_id, t.scopes, t.kind, t.last_used_at < now() - interval '60 seconds' AS stale_use
FROM api_tokens t
LEFT JOIN organizations o ON o.id = t.organization_id
WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
  AND (t.kind = 'operator' OR o.status = 'active');

-- name: api_token_list
-- $1 NULL: every token (operators); else the organization's.
SELECT t.id, t.organization_id, t.kind, t.name, t.scopes, t.created_at, t.last_used_at, t.expires_at, t.revoked_at
FROM api_tokens t
WHERE $1::uuid IS NULL OR t.organization_id = $1
ORDER BY t.created_at, t.id;

-- name: api_token_touch
UPDATE api_tokens SET last_used_at = now() WHERE id = $1;

-- name: api_token_revoke
-- $2 NULL: any token (operators); else only the organization's. Revoking twice keeps the first time.
UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2)
RETURNING id, organization_id, kind, name, scopes, created_at, last_used_at, expires_at, revoked_at;

-- name: api_scope
-- Run on every connection the tenant pool hands out (workers/api/framework.py scope_connection).
-- An operator's connection keeps the pool's own (owner) role: row-level security is not lifted by a setting the
-- application role could make itself, but by not taking that role. $2: 'none' (operator) or 'nfsync_app'.
SELECT set_config('role', $2, false), set_config('app.organization_id', $1, false);

-- name: organization_list
-- Every organization (operators' `nfsync orgs list`), oldest first.
SELECT id, name, status, created_at FROM organizations ORDER BY created_at, id;

-- name: sync_logs_custom_plans
-- In the page's transaction: plan sync_logs_page for the filters it is given (see workers/api/sync_logs.py).
SET LOCAL plan_cache_mode = force_custom_plan;

-- name: sync_logs_page
-- GET /v1/sync-logs: newest first, keyset-paged by (created_at, id); served by sync_logs_organization_created_idx
-- (or the shop / task indexes) and pruned to the partitions of [since, until).
SELECT id, created_at, integration_id, shop_id, task_id, task_type, direction, entity_type, entity_id,
       platform_entity_id, action, status, error_code, error_message, details, duration_ms
FROM sync_logs
WHERE ($1::uuid IS NULL OR organization_id = $1)
  AND ($2::uuid IS NULL OR shop_id = $2)
  AND ($3::uuid IS NULL OR task_id = $3)
  AND ($4::text IS NULL OR entity_type = $4)
  AND ($5::text IS NULL OR entity_id = $5)
  AND ($6::text IS NULL OR status = $6)
  AND ($7::timestamp IS NULL OR created_at >= $7)
  AND ($8::timestamp IS NULL OR created_at < $8)
  AND ($9::timestamp IS NULL OR (created_at, id) < ($9, $10::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $11;
