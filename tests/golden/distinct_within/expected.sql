WITH __clg_ev AS NOT MATERIALIZED (
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
), __clg_cust AS NOT MATERIALIZED (
  SELECT
    "customer_id" AS "customer_id",
    MIN(CAST("signed_up_at" AS TIMESTAMP)) AS "signed_up_at"
  FROM customers
  WHERE
    NOT "customer_id" IS NULL
  GROUP BY
    "customer_id"
), __clg_dv_l1 AS (
  SELECT
    "customer_id" AS "customer_id",
    MIN("occurred_at") AS "first_at"
  FROM __clg_ev AS ev
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
), __clg_dn_l1 AS (
  SELECT
    "customer_id",
    (
      MIN("first_at", 3)
    )[3] AS "l1"
  FROM __clg_dv_l1 AS dv_l1
  GROUP BY
    "customer_id"
), __clg_agg AS (
  SELECT
    "customer_id" AS "customer_id",
    MIN("occurred_at") FILTER(WHERE
      "event_name" = 'export' AND (
        "format" IN ('csv', 'xlsx')
      )) AS "t_1",
    MIN("occurred_at") AS "first_event_at",
    MAX("occurred_at") AS "last_event_at",
    MAX("occurred_at") FILTER(WHERE
      "occurred_at" <= CAST('2025-01-01 00:00:00.000000' AS TIMESTAMP)) AS "last_event_at__cut"
  FROM __clg_ev AS ev
  GROUP BY
    "customer_id"
), __clg_lv AS (
  SELECT
    a."customer_id",
    a."t_1",
    a."first_event_at",
    a."last_event_at",
    a."last_event_at__cut",
    dn_l1."l1"
  FROM __clg_agg AS a
  LEFT JOIN __clg_dn_l1 AS dn_l1
    ON a."customer_id" = dn_l1."customer_id"
), __clg_pe_2 AS NOT MATERIALIZED (
  SELECT
    *
  FROM __clg_ev AS ev
  WHERE
    "event_name" = 'login' OR "event_name" = 'export'
), __clg_pa_2 AS (
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
    MIN("occurred_at", 2) FILTER(WHERE
      "event_name" = 'login') AS "t_1",
    MIN("occurred_at") FILTER(WHERE
      "event_name" = 'export') AS "t_2"
  FROM __clg_pe_2 AS pe_2
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
), __clg_pb_2 AS (
  SELECT
    a."customer_id",
    a."p",
    a."t_1",
    a."t_2"
  FROM __clg_pa_2 AS a
), __clg_s0 AS (
  SELECT
    COALESCE(lv."customer_id", cust."customer_id") AS "customer_id",
    cust."signed_up_at" AS "signed_up_at",
    lv."l1" AS "l1",
    lv."t_1" AS "l3_1",
    lv."first_event_at",
    lv."last_event_at"
  FROM __clg_lv AS lv
  FULL OUTER JOIN __clg_cust AS cust
    ON lv."customer_id" = cust."customer_id"
), __clg_q_2 AS (
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
        "customer_id",
        "p",
        LEAST("l2_0", "l2_1") AS "m"
      FROM (
        SELECT
          b."customer_id",
          b."p",
          b."t_1"[2] AS "l2_0",
          b."t_2" AS "l2_1"
        FROM __clg_pb_2 AS b
      ) AS a
    ) AS x
    WHERE
      NOT "m" IS NULL
  ) AS y
  WHERE
    "p_back" = "p" - 1
), __clg_s_1 AS (
  SELECT
    s.*,
    s."l1" AS "r_1"
  FROM __clg_s0 AS s
), __clg_j_2 AS (
  SELECT
    "customer_id",
    MIN("m") AS "raw"
  FROM __clg_q_2 AS q_2
  GROUP BY
    "customer_id"
), __clg_s_2 AS (
  SELECT
    s.*,
    CASE
      WHEN NOT s."r_1" IS NULL AND j_2."raw" <= s."r_1" + INTERVAL '72' HOUR
      THEN j_2."raw"
    END AS "r_2"
  FROM __clg_s_1 AS s
  LEFT JOIN __clg_j_2 AS j_2
    ON s."customer_id" = j_2."customer_id"
), __clg_s_3 AS (
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
  FROM __clg_s_2 AS s
), __clg_qk_2 AS (
  SELECT
    "customer_id",
    ARRAY_AGG("p" ORDER BY "p" NULLS FIRST) AS "k_2"
  FROM __clg_q_2 AS q_2
  GROUP BY
    "customer_id"
), __clg_sk AS (
  SELECT
    s.*,
    qk_2."k_2"
  FROM __clg_s_3 AS s
  LEFT JOIN __clg_qk_2 AS qk_2
    ON s."customer_id" = qk_2."customer_id"
)
SELECT
  "customer_id",
  "signed_up_at",
  "r_1",
  "r_2",
  "r_3",
  "first_event_at",
  "last_event_at",
  "k_2"
FROM __clg_sk AS sk
