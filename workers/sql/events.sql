-- Events out (issue #17): the outbox the scheduler leader publishes (workers/engine/events.py).

-- name: events_pending
-- The oldest events not yet confirmed by RabbitMQ, in publication order.
SELECT seq, id, organization_id, shop_id, type, subject, data, created_at
FROM event_outbox
ORDER BY seq
LIMIT $1;

-- name: events_confirmed
-- Events RabbitMQ confirmed: delivered, so pruned.
DELETE FROM event_outbox WHERE seq = ANY($1::bigint[]);
