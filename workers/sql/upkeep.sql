-- The scheduler's upkeep (workers/upkeep.py): tokens refreshed ahead of expiry whether or not a task needs them,
-- authorizations about to lapse announced, shops that stopped syncing announced.

-- name: upkeep_accounts_to_refresh
-- Active OAuth accounts whose access token expires within $1 seconds and whose refresh token has not lapsed, each
-- with its oldest active shop (the sync_shop_context columns its client is made from), at most $2.
SELECT DISTINCT ON (a.id)
       s.id AS shop_id, s.organization_id, s.account_id, s.platform, s.shop_id AS platform_shop_id, s.shop_name,
       s.shop_url, s.shop_region, s.shop_data, s.shop_status, s.sale_channel_id, s.order_cursor_at,
       a.status AS account_status, a.auth_type,
       i.id, i.platform AS integration_platform, i.status AS integration_status, i.config, i.credentials,
       i.webhook_secret, i.api_base_url, i.rate_limit
FROM marketplace_accounts a
JOIN marketplace_shops s ON s.account_id = a.id AND s.shop_status = 'active'
JOIN marketplace_integrations i ON i.id = a.integration_id AND i.status = 'active'
WHERE a.auth_type = 'oauth' AND a.status = 'active' AND a.refresh_token IS NOT NULL
  AND a.token_expires_at < now() + make_interval(secs => $1)
  AND (a.refresh_token_expires_at IS NULL OR a.refresh_token_expires_at > now())
ORDER BY a.id, s.created_at, s.id
LIMIT $2;

-- name: upkeep_warn_expiring
-- shop.authorization_expiring for each shop of an active account whose authorization (refresh token) lapses within
-- 7 days, then again within 1 day: once per threshold (expiry_warned_days), reset when new tokens are stored.
WITH due AS (
    SELECT id, refresh_token_expires_at AS lapse,
           CASE WHEN refresh_token_expires_at <= now() + interval '1 day' THEN 1 ELSE 7 END AS threshold
    FROM marketplace_accounts
    WHERE status = 'active' AND refresh_token_expires_at > now()
      AND refresh_token_expires_at <= now() + interval '7 days'
    FOR UPDATE SKIP LOCKED
), warned AS (
    UPDATE marketplace_accounts a SET expiry_warned_days = d.threshold
    FROM due d
    WHERE a.id = d.id AND (a.expiry_warned_days IS NULL OR a.expiry_warned_days > d.threshold)
    RETURNING a.id, d.lapse
)
SELECT w.id,
       nfsync_shop_event(w.id, NULL, 'shop.authorization_expiring', jsonb_build_object(
           'reason', 'the authorization lapses; the merchant must approve the app again before then',
           'expires_at', w.lapse AT TIME ZONE 'UTC',
           'days_left', floor(extract(epoch FROM w.lapse - now()::timestamp) / 86400)::int)) AS events
FROM warned w;

-- name: upkeep_mark_stale
-- shop.stale, once per spell, for each active, unpaused shop of an active integration with a sync_interval whose
-- last successful sync (or, never synced, its connection) is older than sync_interval x $1.
WITH stale AS (
    UPDATE marketplace_shops s SET stale_since = now()
    FROM marketplace_integrations i
    WHERE i.id = s.integration_id AND i.status = 'active' AND i.sync_interval > 0
      AND s.shop_status = 'active' AND s.paused_at IS NULL AND s.stale_since IS NULL
      AND coalesce(s.last_sync_at, s.created_at) < now() - make_interval(mins => i.sync_interval * $1)
    RETURNING s.id, s.account_id, s.last_sync_at, i.sync_interval
)
SELECT st.id,
       nfsync_shop_event(st.account_id, st.id, 'shop.stale', jsonb_build_object(
           'reason', format('no successful sync within %s minutes', st.sync_interval * $1),
           'last_success_at', st.last_sync_at AT TIME ZONE 'UTC',
           'sync_interval_minutes', st.sync_interval)) AS events
FROM stale st;
