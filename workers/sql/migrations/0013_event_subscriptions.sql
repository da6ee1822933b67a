-- Migration 13: HTTP delivery of the events (issue #17). An organization registers subscriber URLs with the event
-- types they want; every event written to event_outbox writes, in the same transaction, one delivery per matching
-- active subscription, which the delivery loop (workers/engine/subscribers.py) POSTs signed like Standard Webhooks,
-- retried with capped exponential backoff for a day; a subscription that keeps failing is disabled, with an event.
-- Locks: creates two tables; adds a trigger to event_outbox and replaces its type check (brief ACCESS EXCLUSIVE).

ALTER TABLE event_outbox DROP CONSTRAINT event_outbox_type_check;
ALTER TABLE event_outbox ADD CONSTRAINT event_outbox_type_check
    CHECK (type IN ('task.completed', 'task.failed', 'task.cancelled', 'sync.items_failed', 'order.imported',
                    'order.updated', 'listing.created', 'listing.linked', 'shop.authorization_expiring',
                    'shop.reauthorization_needed', 'shop.deauthorized', 'shop.stale', 'subscription.disabled'));

CREATE TABLE event_subscriptions (
    id              uuid          NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid          NOT NULL,
    url             varchar(2000) NOT NULL,
    event_types     text[]        NOT NULL,
    secret          text          NOT NULL,
    description     varchar(255)           DEFAULT NULL,
    status          text          NOT NULL DEFAULT 'active',
    disabled_at     timestamp              DEFAULT NULL,
    disabled_reason text                   DEFAULT NULL,
    last_success_at timestamp              DEFAULT NULL,
    last_failure_at timestamp              DEFAULT NULL,
    created_at      timestamp     NOT NULL DEFAULT now(),
    updated_at      timestamp     NOT NULL DEFAULT now(),
    CONSTRAINT event_subscriptions_pkey PRIMARY KEY (id),
    CONSTRAINT event_subscriptions_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id)
        ON DELETE CASCADE,
    CONSTRAINT event_subscriptions_status_check CHECK (status IN ('active', 'disabled')),
    CONSTRAINT event_subscriptions_event_types_check CHECK (cardinality(event_types) > 0)
);
CREATE INDEX event_subscriptions_organization_id_idx ON event_subscriptions (organization_id);
CREATE TRIGGER event_subscriptions_touch_updated_at BEFORE UPDATE ON event_subscriptions
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now()::timestamp) EXECUTE FUNCTION nfsync_touch_updated_at();
COMMENT ON TABLE event_subscriptions IS
    'nfsync: an organization''s HTTP subscriber of events (/v1/event-subscriptions): the URL, the event types it '
    'takes (''*'' for all) and its signing secret.';
COMMENT ON COLUMN event_subscriptions.url IS 'Where deliveries are POSTed: https on a public host (SSRF guard).';
COMMENT ON COLUMN event_subscriptions.event_types IS 'Event types delivered (exact types, or ''*'' for every type).';
COMMENT ON COLUMN event_subscriptions.secret IS
    'Standard Webhooks signing secret (whsec_...), encrypted (workers/crypto.py); write-only in the API.';
COMMENT ON COLUMN event_subscriptions.status IS
    'active, or disabled (by the organization, or by nfsync after a day of failed deliveries).';
COMMENT ON COLUMN event_subscriptions.disabled_reason IS 'Why it was disabled.';
COMMENT ON COLUMN event_subscriptions.last_success_at IS 'Last delivery the subscriber accepted (2xx).';
COMMENT ON COLUMN event_subscriptions.last_failure_at IS 'Last delivery attempt that failed.';
ALTER TABLE event_subscriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_subscriptions_tenant ON event_subscriptions TO nfsync_app
    USING (nfsync_tenant_visible(organization_id));
GRANT SELECT, INSERT, UPDATE, DELETE ON event_subscriptions TO nfsync_app;

CREATE TABLE event_deliveries (
    id              bigint       GENERATED ALWAYS AS IDENTITY,
    subscription_id uuid         NOT NULL,
    organization_id uuid         NOT NULL,
    event_id        uuid         NOT NULL,
    type            varchar(64)  NOT NULL,
    subject         varchar(255) NOT NULL,
    data            jsonb        NOT NULL,
    event_time      timestamptz  NOT NULL,
    status          text         NOT NULL DEFAULT 'pending',
    attempts        integer      NOT NULL DEFAULT 0,
    next_attempt_at timestamp    NOT NULL DEFAULT now(),
    last_status     integer               DEFAULT NULL,
    last_error      text                  DEFAULT NULL,
    created_at      timestamp    NOT NULL DEFAULT now(),
    delivered_at    timestamp             DEFAULT NULL,
    CONSTRAINT event_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT event_deliveries_subscription_id_fkey FOREIGN KEY (subscription_id)
        REFERENCES event_subscriptions (id) ON DELETE CASCADE,
    CONSTRAINT event_deliveries_status_check CHECK (status IN ('pending', 'delivered', 'failed'))
);
CREATE UNIQUE INDEX event_deliveries_subscription_event_idx ON event_deliveries (subscription_id, event_id);
CREATE INDEX event_deliveries_due_idx ON event_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX event_deliveries_organization_id_idx ON event_deliveries (organization_id);
COMMENT ON TABLE event_deliveries IS
    'nfsync: one event to one subscriber: a copy of the event, written with it, POSTed until the subscriber accepts '
    'it or a day has passed; kept after delivery for replays until the retention prunes it.';
COMMENT ON COLUMN event_deliveries.event_id IS 'The event''s id: the webhook-id header, the same on every retry.';
COMMENT ON COLUMN event_deliveries.status IS
    'pending (due at next_attempt_at), delivered (2xx), failed (a day of failures; replayable).';
COMMENT ON COLUMN event_deliveries.next_attempt_at IS
    'When it is due (UTC); a sender holds it by moving this past its request timeout.';
COMMENT ON COLUMN event_deliveries.last_status IS 'HTTP status of the last attempt (NULL: no answer).';
ALTER TABLE event_deliveries ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_deliveries_tenant ON event_deliveries TO nfsync_app USING (nfsync_tenant_visible(organization_id));
GRANT SELECT, UPDATE ON event_deliveries TO nfsync_app;

CREATE FUNCTION nfsync_event_deliveries() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public AS $$
BEGIN
    INSERT INTO event_deliveries (subscription_id, organization_id, event_id, type, subject, data, event_time)
    SELECT s.id, e.organization_id, e.id, e.type, e.subject, e.data, e.created_at
    FROM inserted e
    JOIN event_subscriptions s
      ON s.organization_id = e.organization_id AND s.status = 'active'
     AND (e.type = ANY (s.event_types) OR '*' = ANY (s.event_types))
    ORDER BY e.seq, s.id;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION nfsync_event_deliveries() IS
    'nfsync: every event written to event_outbox writes one delivery per active subscription of its organization '
    'that takes its type, in the same transaction.';
CREATE TRIGGER event_outbox_deliveries AFTER INSERT ON event_outbox
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION nfsync_event_deliveries();
