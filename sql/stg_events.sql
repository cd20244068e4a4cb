-- Staging of the raw product events: names the columns as the journey expects them and keeps the
-- JSON `properties` (the journey's `where: {format: csv}` reads its `format` key).
SELECT
    event_id,
    user_id AS customer_id,
    lower(trim(event)) AS event_name,
    CAST(ts AS TIMESTAMP) AS occurred_at,
    properties
FROM raw_events
WHERE user_id IS NOT NULL
