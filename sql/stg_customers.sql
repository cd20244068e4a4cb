-- One row per customer who signed up, with the plan and the acquisition channel.
SELECT
    user_id,
    CAST(created_at AS TIMESTAMP) AS created_at,
    plan,
    channel
FROM raw_customers
