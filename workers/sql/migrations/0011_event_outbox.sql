-- Migration 11: the events outbox (issue #17). A task that reaches completed, failed or cancelled writes an event in
-- the same transaction (a trigger on sync_tasks); the scheduler leader publishes the events to the RabbitMQ topic
-- exchange nfsync.events in order, with publisher confirms, and deletes each one RabbitMQ confirmed.
-- Locks: creates a table; adds a trigger to sync_tasks (a brief ACCESS EXCLUSIVE lock on it).

CREATE TABLE event_outbox (
    seq             bigint       GENERATED ALWAYS AS IDENTITY,
    id              uuid         NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid         NOT NULL,
    shop_id         uuid                  DEFAULT NULL,
    type            varchar(64)  NOT NULL,
    subject         varchar(255) NOT NULL,
    data            jsonb        NOT NULL,
    created_at      timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT event_outbox_pkey PRIMARY KEY (seq),
    CONSTRAINT event_outbox_id_key UNIQUE (id),
    CONSTRAINT event_outbox_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id)
        ON DELETE CASCADE,
    CONSTRAINT event_outbox_type_check
        CHECK (type IN ('task.completed', 'task.failed', 'task.cancelled', 'sync.items_failed'))
);
CREATE INDEX event_outbox_organization_id_idx ON event_outbox (organization_id);
COMMENT ON TABLE event_outbox IS
    'nfsync: events worth acting on, written in the transaction of the change that caused them and published by '
    'the scheduler leader to the RabbitMQ topic exchange nfsync.events (routing key = type) with publisher '
    'confirms, in seq order; a row is deleted once RabbitMQ confirmed it (workers/engine/events.py).';
COMMENT ON COLUMN event_outbox.seq IS 'Publication order (per shop and overall).';
COMMENT ON COLUMN event_outbox.id IS 'The event''s unique id (CloudEvents id): a consumer deduplicates by it.';
COMMENT ON COLUMN event_outbox.organization_id IS 'The organization the event is about.';
COMMENT ON COLUMN event_outbox.shop_id IS 'The shop the event is about, when there is one.';
COMMENT ON COLUMN event_outbox.type IS 'Event type (CloudEvents type), also the routing key.';
COMMENT ON COLUMN event_outbox.subject IS 'What the event is about within the organization (CloudEvents subject).';
COMMENT ON COLUMN event_outbox.data IS 'The event''s payload (docs/events/<type>.schema.json).';
COMMENT ON COLUMN event_outbox.created_at IS 'When the change happened (CloudEvents time).';
ALTER TABLE event_outbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_outbox_tenant ON event_outbox TO nfsync_app USING (nfsync_tenant_visible(organization_id));
GRANT SELECT ON event_outbox TO nfsync_app;

CREATE FUNCTION nfsync_task_event() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    INSERT INTO event_outbox (organization_id, shop_id, type, subject, data)
    VALUES (NEW.organization_id, NEW.shop_id, 'task.' || NEW.status, 'tasks/' || NEW.id,
            jsonb_build_object(
                'task_id', NEW.id, 'task_type', NEW.task_type, 'direction', NEW.direction,
                'status', NEW.status, 'integration_id', NEW.integration_id, 'shop_id', NEW.shop_id,
                'platform', NEW.platform, 'total_items', NEW.total_items,
                'processed_items', NEW.processed_items, 'successful_items', NEW.successful_items,
                'failed_items', NEW.failed_items, 'error_message', NEW.error_message,
                'retry_count', NEW.retry_count, 'completed_at', NEW.completed_at AT TIME ZONE 'UTC'));
    IF NEW.failed_items > 0 AND NEW.status IN ('completed', 'failed') THEN
        INSERT INTO event_outbox (organization_id, shop_id, type, subject, data)
        SELECT NEW.organization_id, NEW.shop_id, 'sync.items_failed', 'tasks/' || NEW.id,
               jsonb_build_object(
                   'task_id', NEW.id, 'task_type', NEW.task_type, 'integration_id', NEW.integration_id,
                   'shop_id', NEW.shop_id, 'platform', NEW.platform, 'failed_items', NEW.failed_items,
                   'first_failures', coalesce(jsonb_agg(jsonb_build_object(
                       'entity_type', f.entity_type, 'entity_id', f.entity_id,
                       'platform_entity_id', f.platform_entity_id, 'action', f.action,
                       'error_code', f.error_code, 'error_message', f.error_message) ORDER BY f.created_at, f.id),
                       '[]'::jsonb))
        FROM (SELECT * FROM sync_logs l WHERE l.task_id = NEW.id AND l.status = 'failed'
              ORDER BY l.created_at, l.id LIMIT 10) f;
    END IF;
    PERFORM pg_notify('nfsync_events', '');  -- collapsed to one per transaction by PostgreSQL
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION nfsync_task_event() IS
    'nfsync: a task that reaches completed, failed or cancelled writes its task.<status> event to event_outbox in '
    'the same transaction, whoever the writer (worker, lease rescue, API cancel) - and sync.items_failed with the '
    'first ten failed items from sync_logs when some failed - and notifies the channel nfsync_events, on which the '
    'scheduler leader listens to publish at once.';
CREATE TRIGGER sync_tasks_event AFTER UPDATE OF status ON sync_tasks
    FOR EACH ROW WHEN (NEW.status IN ('completed', 'failed', 'cancelled') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION nfsync_task_event();
