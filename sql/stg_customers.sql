-- One row per customer who signed up, with the plan and the acquisition channel.
SELECT
    user_id AS customer_id,
    CAST(created_at AS TIMESTAMP) AS signed_up_at,
    plan,
    channel
FROM raw_customers
