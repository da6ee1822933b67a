-- Account tokens (workers/tokens.py).

-- name: account_tokens
SELECT organization_id::text AS organization_id, status, access_token, refresh_token, token_expires_at,
       refresh_token_expires_at, token_version
FROM marketplace_accounts WHERE id = $1;

-- name: account_tokens_for_update
SELECT organization_id::text AS organization_id, status, access_token, refresh_token, token_expires_at,
       refresh_token_expires_at, token_version
FROM marketplace_accounts WHERE id = $1
FOR UPDATE;

-- name: account_tokens_store
UPDATE marketplace_accounts
SET access_token = $2, refresh_token = $3, token_expires_at = $4, refresh_token_expires_at = $5,
    token_version = token_version + 1, last_connected_at = now(), status = 'active', error_message = NULL,
    expiry_warned_days = CASE WHEN refresh_token_expires_at IS DISTINCT FROM $5 THEN NULL ELSE expiry_warned_days END
WHERE id = $1
RETURNING token_version;

-- name: account_needs_reauthorization
-- A refused refresh: the account is marked, and each of its shops gets shop.reauthorization_needed - once, when the
-- account was not already marked. Returns the number of events written.
WITH marked AS (
    UPDATE marketplace_accounts SET status = 'error', error_message = $2 WHERE id = $1 AND status <> 'error'
    RETURNING id
)
SELECT coalesce(sum(nfsync_shop_event(id, NULL, 'shop.reauthorization_needed',
                                      jsonb_build_object('reason', $2::text))), 0)::int
FROM marked;
