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
    token_version = token_version + 1, last_connected_at = now(), status = 'active', error_message = NULL
WHERE id = $1
RETURNING token_version;

-- name: account_needs_reauthorization
UPDATE marketplace_accounts SET status = 'error', error_message = $2 WHERE id = $1;
