-- Staging of the raw product events: drops rows without a user, normalizes event names and types.
-- The journey maps these columns with `columns: {customer_id: user_id, event_name: event, occurred_at: ts}`
-- and its `where: {format: csv}` reads the `format` key of the JSON `properties`.
SELECT
    event_id,
    user_id,
    lower(trim(event)) AS event,
    CAST(ts AS TIMESTAMP) AS ts,
    properties
FROM raw_events
WHERE user_id IS NOT NULL
