WITH ev AS NOT MATERIALIZED (
  SELECT
    "customer_id" AS "customer_id",
    "event_name" AS "event_name",
    CAST("occurred_at" AS TIMESTAMP) AS "occurred_at",
    "format",
    "value"
  FROM events
  WHERE
    NOT "customer_id" IS NULL
    AND NOT "event_name" IS NULL
    AND NOT "occurred_at" IS NULL
    AND CAST("occurred_at" AS TIMESTAMP) <= CAST('2025-01-01 00:00:00.000000' AS TIMESTAMP)
), cust AS NOT MATERIALIZED (
  SELECT
    "customer_id" AS "customer_id",
    MIN(CAST("signed_up_at" AS TIMESTAMP)) AS "signed_up_at"
  FROM customers
  WHERE
    NOT "customer_id" IS NULL
  GROUP BY
    "customer_id"
), dv_l1 AS (
  SELECT
    "customer_id" AS "customer_id",
    MIN("occurred_at") AS "first_at"
  FROM ev
  WHERE
    (
      "event_name" IN ('search', 'browse') AND (
        "format" <> 'pdf'
      )
    )
    AND NOT "value" IS NULL
  GROUP BY
    "customer_id",
    "value"
), agg AS (
  SELECT
    "customer_id" AS "customer_id",
    MIN("occurred_at") FILTER(WHERE
      "event_name" = 'export' AND (
        "format" IN ('csv', 'xlsx')
      )) AS "l3_1"
  FROM ev
  GROUP BY
    "customer_id"
), dn_l1 AS (
  SELECT
    "customer_id",
    (
      MIN("first_at", 3)
    )[3] AS "l1"
  FROM dv_l1
  GROUP BY
    "customer_id"
), s0 AS (
  SELECT
    COALESCE(agg."customer_id", cust."customer_id") AS "customer_id",
    cust."signed_up_at" AS "signed_up_at",
    agg."l3_1",
    dn_l1."l1"
  FROM agg AS agg
  FULL OUTER JOIN cust
    ON agg."customer_id" = cust."customer_id"
  LEFT JOIN dn_l1
    ON agg."customer_id" = dn_l1."customer_id"
), pe_2 AS NOT MATERIALIZED (
  SELECT
    *
  FROM ev
  WHERE
    "event_name" = 'login' OR "event_name" = 'export'
), pa_2 AS (
  SELECT
    "customer_id" AS "customer_id",
    (
      (
        EPOCH_US("occurred_at") - 345600000000
      ) - (
        (
          (
            (
              EPOCH_US("occurred_at") - 345600000000
            ) % 86400000000
          ) + 86400000000
        ) % 86400000000
      )
    ) // 86400000000 AS "p",
    (
      MIN("occurred_at", 2) FILTER(WHERE
        "event_name" = 'login')
    )[2] AS "l2_0",
    MIN("occurred_at") FILTER(WHERE
      "event_name" = 'export') AS "l2_1"
  FROM pe_2
  GROUP BY
    "customer_id",
    (
      (
        EPOCH_US("occurred_at") - 345600000000
      ) - (
        (
          (
            (
              EPOCH_US("occurred_at") - 345600000000
            ) % 86400000000
          ) + 86400000000
        ) % 86400000000
      )
    ) // 86400000000
), q_2 AS (
  SELECT
    "customer_id",
    "p",
    "m"
  FROM (
    SELECT
      "customer_id",
      "p",
      "m",
      LAG("p", 1) OVER (PARTITION BY "customer_id" ORDER BY "p") AS "p_back"
    FROM (
      SELECT
        a."customer_id",
        a."p",
        LEAST("l2_0", "l2_1") AS "m"
      FROM pa_2 AS a
    ) AS x
    WHERE
      NOT "m" IS NULL
  ) AS y
  WHERE
    "p_back" = "p" - 1
), s_1 AS (
  SELECT
    s.*,
    s."l1" AS "r_1"
  FROM s0 AS s
), j_2 AS (
  SELECT
    "customer_id",
    MIN("m") AS "raw"
  FROM q_2
  GROUP BY
    "customer_id"
), s_2 AS (
  SELECT
    s.*,
    CASE
      WHEN NOT s."r_1" IS NULL AND j_2."raw" <= s."r_1" + INTERVAL '72' HOUR
      THEN j_2."raw"
    END AS "r_2"
  FROM s_1 AS s
  LEFT JOIN j_2
    ON s."customer_id" = j_2."customer_id"
), s_3 AS (
  SELECT
    s.*,
    CASE
      WHEN NOT s."signed_up_at" IS NULL
      AND CASE
        WHEN NOT s."r_1" IS NULL AND NOT s."l3_1" IS NULL
        THEN GREATEST(s."r_1", s."l3_1")
      END <= s."signed_up_at" + INTERVAL '14' DAY
      THEN CASE
        WHEN NOT s."r_1" IS NULL AND NOT s."l3_1" IS NULL
        THEN GREATEST(s."r_1", s."l3_1")
      END
    END AS "r_3"
  FROM s_2 AS s
)
SELECT
  "customer_id",
  "signed_up_at",
  "r_1",
  "r_2",
  "r_3"
FROM s_3
