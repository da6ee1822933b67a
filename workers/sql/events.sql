-- Events out (issue #17): the outbox the scheduler leader publishes (workers/engine/events.py).

-- name: events_pending
-- The oldest events not yet confirmed by RabbitMQ after seq $1, in publication order, each with its message body: the CloudEvent
-- as JSON, built here (PostgreSQL writes JSON faster than the publisher could).
SELECT seq, id, organization_id, shop_id, type, subject, data, created_at,
       json_build_object(
           'specversion', '1.0', 'id', id, 'source', '/organizations/' || organization_id, 'type', type,
           'subject', subject, 'time', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'datacontenttype', 'application/json', 'data', data)::text AS body
FROM event_outbox
WHERE seq > $1
ORDER BY seq
LIMIT $2;

-- name: events_confirmed
-- Events RabbitMQ confirmed: delivered, so pruned.
DELETE FROM event_outbox WHERE seq = ANY($1::bigint[]);
