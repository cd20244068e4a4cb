WITH __clg_ev AS NOT MATERIALIZED (
  SELECT
    "customer_id" AS "customer_id",
    "event_name" AS "event_name",
    CAST("occurred_at" AS TIMESTAMP) AS "occurred_at",
    "format"
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
), __clg_gl_g3_0_n AS (
  SELECT
    "customer_id",
    MAX("occurred_at") AS "last_at"
  FROM __clg_ev AS ev
  WHERE
    "event_name" = 'search' AND NOT "format" IS NULL
  GROUP BY
    "customer_id",
    "format"
), __clg_gn_g3_0_n AS (
  SELECT
    "customer_id",
    (
      MIN(-(
        EPOCH_US("last_at")
      ), 2)
    )[2] AS "g3_0_n"
  FROM __clg_gl_g3_0_n AS gl_g3_0_n
  GROUP BY
    "customer_id"
), __clg_agg AS (
  SELECT
    "customer_id" AS "customer_id",
    MIN("occurred_at") FILTER(WHERE
      "event_name" = 'signup') AS "t_1",
    MIN("occurred_at", 2) FILTER(WHERE
      "event_name" = 'search') AS "t_2",
    MIN("occurred_at") FILTER(WHERE
      "event_name" = 'export') AS "t_3",
    MIN("occurred_at") AS "first_event_at",
    MAX("occurred_at") AS "last_event_at",
    MAX("occurred_at") FILTER(WHERE
      "occurred_at" <= CAST('2025-01-01 00:00:00.000000' AS TIMESTAMP)) AS "last_event_at__cut",
    COUNT(*) FILTER(WHERE
      "event_name" = 'support_ticket') AS "g1_2_c",
    COUNT(*) FILTER(WHERE
      (
        "event_name" = 'support_ticket'
      )
      AND "occurred_at" <= CAST('2025-01-01 00:00:00.000000' AS TIMESTAMP)) AS "g1_2_c__cut",
    -(
      EPOCH_US(MAX("occurred_at") FILTER(WHERE
        "event_name" IN ('search', 'login')))
    ) AS "g2_2_m",
    -(
      EPOCH_US(
        MAX("occurred_at") FILTER(WHERE
          (
            "event_name" IN ('search', 'login')
          )
          AND "occurred_at" <= CAST('2025-01-01 00:00:00.000000' AS TIMESTAMP))
      )
    ) AS "g2_2_m__cut"
  FROM __clg_ev AS ev
  GROUP BY
    "customer_id"
), __clg_lv AS (
  SELECT
    a."customer_id",
    a."t_1",
    a."t_2",
    a."t_3",
    a."first_event_at",
    a."last_event_at",
    a."last_event_at__cut",
    a."g1_2_c",
    a."g1_2_c__cut",
    a."g2_2_m",
    a."g2_2_m__cut",
    gn_g3_0_n."g3_0_n"
  FROM __clg_agg AS a
  LEFT JOIN __clg_gn_g3_0_n AS gn_g3_0_n
    ON a."customer_id" = gn_g3_0_n."customer_id"
), __clg_pe_3 AS NOT MATERIALIZED (
  SELECT
    *
  FROM __clg_ev AS ev
  WHERE
    "event_name" = 'login'
), __clg_pa_3 AS (
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
            ) % 604800000000
          ) + 604800000000
        ) % 604800000000
      )
    ) // 604800000000 AS "p",
    MIN("occurred_at") FILTER(WHERE
      "event_name" = 'login') AS "t_1"
  FROM __clg_pe_3 AS pe_3
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
            ) % 604800000000
          ) + 604800000000
        ) % 604800000000
      )
    ) // 604800000000
), __clg_pb_3 AS (
  SELECT
    a."customer_id",
    a."p",
    a."t_1"
  FROM __clg_pa_3 AS a
), __clg_s0 AS (
  SELECT
    COALESCE(lv."customer_id", cust."customer_id") AS "customer_id",
    cust."signed_up_at" AS "signed_up_at",
    lv."t_1" AS "l1",
    lv."t_2"[2] AS "l2_0",
    lv."t_3" AS "l2_1",
    lv."first_event_at",
    lv."last_event_at",
    lv."g1_2_c",
    lv."g2_2_m",
    lv."g3_0_n"
  FROM __clg_lv AS lv
  FULL OUTER JOIN __clg_cust AS cust
    ON lv."customer_id" = cust."customer_id"
), __clg_q_3 AS (
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
        "l3" AS "m"
      FROM (
        SELECT
          b."customer_id",
          b."p",
          b."t_1" AS "l3"
        FROM __clg_pb_3 AS b
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
), __clg_s_2 AS (
  SELECT
    s.*,
    CASE
      WHEN NOT CASE
        WHEN NOT s."l2_0" IS NULL AND NOT s."l2_1" IS NULL
        THEN GREATEST(s."l2_0", s."l2_1")
      END IS NULL
      AND NOT s."r_1" IS NULL
      THEN GREATEST(
        CASE
          WHEN NOT s."l2_0" IS NULL AND NOT s."l2_1" IS NULL
          THEN GREATEST(s."l2_0", s."l2_1")
        END,
        s."r_1"
      )
    END AS "r_2"
  FROM __clg_s_1 AS s
), __clg_j_3 AS (
  SELECT
    s."customer_id",
    MIN(GREATEST(q."m", s."r_2")) AS "raw"
  FROM __clg_s_2 AS s
  JOIN __clg_q_3 AS q
    ON q."customer_id" = s."customer_id"
    AND q."p" >= (
      (
        EPOCH_US(s."r_2") - 345600000000
      ) - (
        (
          (
            (
              EPOCH_US(s."r_2") - 345600000000
            ) % 604800000000
          ) + 604800000000
        ) % 604800000000
      )
    ) // 604800000000
  GROUP BY
    s."customer_id"
), __clg_s_3 AS (
  SELECT
    s.*,
    j_3."raw" AS "r_3"
  FROM __clg_s_2 AS s
  LEFT JOIN __clg_j_3 AS j_3
    ON s."customer_id" = j_3."customer_id"
), __clg_qk_3 AS (
  SELECT
    "customer_id",
    ARRAY_AGG("p" ORDER BY "p" NULLS FIRST) AS "k_3"
  FROM __clg_q_3 AS q_3
  GROUP BY
    "customer_id"
), __clg_sk AS (
  SELECT
    s.*,
    qk_3."k_3"
  FROM __clg_s_3 AS s
  LEFT JOIN __clg_qk_3 AS qk_3
    ON s."customer_id" = qk_3."customer_id"
)
SELECT
  "customer_id",
  "signed_up_at",
  "r_1",
  "r_2",
  "r_3",
  "first_event_at",
  "last_event_at",
  "g1_2_c",
  "g2_2_m",
  "g3_0_n",
  "k_3"
FROM __clg_sk AS sk
