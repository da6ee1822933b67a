-- HTTP subscribers of the events: the API (workers/api/subscriptions.py) and the delivery loop
-- (workers/engine/subscribers.py). $org is NULL for an operator.

-- name: subscription_insert
INSERT INTO event_subscriptions (id, organization_id, url, event_types, secret, description)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *;

-- name: subscription_count
SELECT count(*)::int FROM event_subscriptions WHERE organization_id = $1;

-- name: subscription_get
SELECT s.*,
       (SELECT count(*) FROM event_deliveries d WHERE d.subscription_id = s.id AND d.status = 'pending')::int
           AS pending_deliveries,
       (SELECT count(*) FROM event_deliveries d WHERE d.subscription_id = s.id AND d.status = 'failed')::int
           AS failed_deliveries
FROM event_subscriptions s
WHERE s.id = $1 AND ($2::uuid IS NULL OR s.organization_id = $2);

-- name: subscription_list
SELECT s.*, 0 AS pending_deliveries, 0 AS failed_deliveries
FROM event_subscriptions s
WHERE ($1::uuid IS NULL OR s.organization_id = $1)
ORDER BY s.created_at, s.id;

-- name: subscription_update
-- $6 status: re-enabling clears why it was disabled.
UPDATE event_subscriptions
SET url = $3, event_types = $4, description = $5, status = $6,
    disabled_at = CASE WHEN $6 = 'disabled' THEN coalesce(disabled_at, now()) END,
    disabled_reason = CASE WHEN $6 = 'disabled' THEN coalesce(disabled_reason, 'disabled by the organization') END
WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2)
RETURNING id;

-- name: subscription_delete
DELETE FROM event_subscriptions WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2) RETURNING id;

-- name: subscription_replay
-- Deliveries of the subscription made in [$3, $4) with a status in $5 (delivered, failed) due again now, their
-- attempts reset: sent again with the same webhook-id.
UPDATE event_deliveries d
SET status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL, delivered_at = NULL
FROM event_subscriptions s
WHERE s.id = d.subscription_id AND d.subscription_id = $1 AND ($2::uuid IS NULL OR s.organization_id = $2)
  AND d.created_at >= $3 AND ($4::timestamp IS NULL OR d.created_at < $4) AND d.status = ANY ($5::text[]);

-- name: subscription_deliveries
SELECT d.id, d.event_id, d.type, d.subject, d.status, d.attempts, d.next_attempt_at, d.last_status, d.last_error,
       d.created_at, d.delivered_at
FROM event_deliveries d JOIN event_subscriptions s ON s.id = d.subscription_id
WHERE d.subscription_id = $1 AND ($2::uuid IS NULL OR s.organization_id = $2)
  AND ($3::text IS NULL OR d.status = $3)
ORDER BY d.id DESC
LIMIT $4;

-- name: deliveries_claim
-- Due deliveries of active subscriptions, oldest first, at most $2 per subscription and $1 in all, held for $3
-- seconds (next_attempt_at moved past the request's timeout) so no other sender takes them meanwhile.
WITH due AS (
    SELECT d.id, d.subscription_id
    FROM event_deliveries d
    JOIN event_subscriptions s ON s.id = d.subscription_id AND s.status = 'active'
    WHERE d.status = 'pending' AND d.next_attempt_at <= now()
    ORDER BY d.next_attempt_at, d.id
    LIMIT $1 * 4
    FOR UPDATE OF d SKIP LOCKED
), ranked AS (
    SELECT id, row_number() OVER (PARTITION BY subscription_id ORDER BY id) AS rn FROM due
), chosen AS (
    SELECT id FROM ranked WHERE rn <= $2 ORDER BY id LIMIT $1
)
UPDATE event_deliveries d
SET next_attempt_at = now() + make_interval(secs => $3), attempts = d.attempts + 1
FROM chosen, event_subscriptions s
WHERE d.id = chosen.id AND s.id = d.subscription_id
RETURNING d.id, d.subscription_id, d.organization_id, d.event_id, d.type, d.subject, d.data, d.event_time,
          d.attempts, d.created_at, s.url, s.secret;

-- name: delivery_succeeded
WITH done AS (
    UPDATE event_deliveries SET status = 'delivered', delivered_at = now(), last_status = $2, last_error = NULL
    WHERE id = $1 RETURNING subscription_id
)
UPDATE event_subscriptions SET last_success_at = now() WHERE id = (SELECT subscription_id FROM done);

-- name: delivery_failed
-- A failed attempt: due again in $4 seconds, or failed for good once it is $5 seconds old.
WITH failed AS (
    UPDATE event_deliveries
    SET last_status = $2, last_error = $3,
        status = CASE WHEN created_at < now() - make_interval(secs => $5) THEN 'failed' ELSE 'pending' END,
        next_attempt_at = now() + make_interval(secs => $4)
    WHERE id = $1
    RETURNING subscription_id, status
)
UPDATE event_subscriptions s SET last_failure_at = now()
FROM failed WHERE s.id = failed.subscription_id
RETURNING failed.status, s.id AS subscription_id;

-- name: subscription_disable_failing
-- A subscription whose delivery just failed for good, with no success within the retry window ($2 seconds): it is
-- disabled and subscription.disabled is written (for the organization's other subscribers and RabbitMQ).
WITH disabled AS (
    UPDATE event_subscriptions
    SET status = 'disabled', disabled_at = now(), disabled_reason = $3
    WHERE id = $1 AND status = 'active'
      AND (last_success_at IS NULL OR last_success_at < now() - make_interval(secs => $2))
    RETURNING id, organization_id, url, last_success_at
)
INSERT INTO event_outbox (organization_id, shop_id, type, subject, data)
SELECT d.organization_id, NULL, 'subscription.disabled', 'subscriptions/' || d.id,
       jsonb_build_object(
           'subscription_id', d.id, 'url', d.url, 'reason', $3::text,
           'failed_deliveries', (SELECT count(*) FROM event_deliveries e
                                 WHERE e.subscription_id = d.id AND e.status = 'failed'),
           'last_success_at', d.last_success_at AT TIME ZONE 'UTC')
FROM disabled d
RETURNING id;

-- name: prune_deliveries
WITH old AS (
    SELECT id FROM event_deliveries
    WHERE status <> 'pending' AND created_at < now() - make_interval(days => $1)
    LIMIT $2
)
DELETE FROM event_deliveries d USING old WHERE d.id = old.id;
