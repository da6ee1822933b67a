-- The chaos suite (workers/chaos.py), in its own throw-away database.

-- name: chaos_audit_table
-- Every transition of a task to completed, recorded by a trigger: a task completed twice shows up twice.
CREATE TABLE chaos_completions (task_id uuid NOT NULL, attempt integer NOT NULL, at timestamp NOT NULL DEFAULT now());

-- name: chaos_audit_function
CREATE FUNCTION chaos_record_completion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chaos_completions (task_id, attempt) VALUES (NEW.id, NEW.attempt);
    RETURN NULL;
END;
$$;

-- name: chaos_audit_trigger
CREATE TRIGGER sync_tasks_chaos_completion AFTER UPDATE OF status ON sync_tasks
    FOR EACH ROW WHEN (NEW.status = 'completed' AND OLD.status IS DISTINCT FROM 'completed')
    EXECUTE FUNCTION chaos_record_completion();

-- name: chaos_unfinished
SELECT count(*) FROM sync_tasks WHERE status IN ('pending', 'processing');

-- name: chaos_counts
SELECT count(*) AS tasks,
       count(*) FILTER (WHERE status = 'completed') AS completed,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE status IN ('pending', 'processing')) AS unfinished,
       (SELECT count(*) FROM (SELECT task_id FROM chaos_completions GROUP BY task_id HAVING count(*) > 1) twice)
           AS completed_twice,
       (SELECT count(*) FROM (SELECT 1 FROM "SalesOrder" GROUP BY "sourcePlatform", "sourceShopId", "externalOrderId"
                              HAVING count(*) > 1) dup) AS duplicate_orders
FROM sync_tasks;

-- name: chaos_orders
-- How many CRM orders each placed sandbox order became.
SELECT p.platform, p.shop, p.order_id, count(o.id) AS copies
FROM unnest($1::text[], $2::text[], $3::text[]) AS p(platform, shop, order_id)
LEFT JOIN "SalesOrder" o ON o."sourcePlatform" = p.platform AND o."sourceShopId" = p.shop
                        AND o."externalOrderId" = p.order_id
GROUP BY p.platform, p.shop, p.order_id;
