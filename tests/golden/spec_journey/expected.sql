WITH __clg_ev AS NOT MATERIALIZED (
  SELECT
    "user_id" AS "customer_id",
    "event" AS "event_name",
    CAST("ts" AS TIMESTAMP) AS "occurred_at",
    "properties"
  FROM stg_events
  WHERE
    NOT "user_id" IS NULL
    AND NOT "event" IS NULL
    AND NOT "ts" IS NULL
    AND CAST("ts" AS TIMESTAMP) <= CAST('2025-01-01 00:00:00.000000' AS TIMESTAMP)
), __clg_cust AS NOT MATERIALIZED (
  SELECT
    "user_id" AS "customer_id",
    MIN(CAST("created_at" AS TIMESTAMP)) AS "signed_up_at"
  FROM stg_customers
  WHERE
    NOT "user_id" IS NULL
  GROUP BY
    "user_id"
), __clg_agg AS (
  SELECT
    "customer_id" AS "customer_id",
    MIN("occurred_at") FILTER(WHERE
      "event_name" = 'page_view') AS "t_1",
    MIN("occurred_at") FILTER(WHERE
      "event_name" = 'trial_started') AS "t_2",
    MIN("occurred_at", 10) FILTER(WHERE
      "event_name" = 'search') AS "t_3",
    MIN("occurred_at", 2) FILTER(WHERE
      "event_name" = 'list_created') AS "t_4",
    MIN("occurred_at", 2) FILTER(WHERE
      "event_name" = 'export' AND (
        (
          "properties" ->> '$.format'
        ) = 'csv'
      )) AS "t_5",
    MIN("occurred_at") FILTER(WHERE
      "event_name" = 'upgrade') AS "t_6",
    MIN("occurred_at") FILTER(WHERE
      "event_name" = 'review') AS "t_7",
    MIN("occurred_at") FILTER(WHERE
      "event_name" = 'referral') AS "t_8",
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
    a."t_2",
    a."t_3",
    a."t_4",
    a."t_5",
    a."t_6",
    a."t_7",
    a."t_8",
    a."first_event_at",
    a."last_event_at",
    a."last_event_at__cut"
  FROM __clg_agg AS a
), __clg_pe_5 AS NOT MATERIALIZED (
  SELECT
    *
  FROM __clg_ev AS ev
  WHERE
    "event_name" = 'search'
    OR "event_name" = 'list_created'
    OR "event_name" = 'export'
), __clg_pa_5 AS (
  SELECT
    "customer_id" AS "customer_id",
    YEAR("occurred_at") * 12 + MONTH("occurred_at") AS "p",
    MIN("occurred_at", 10) FILTER(WHERE
      "event_name" = 'search') AS "t_1",
    MIN("occurred_at", 2) FILTER(WHERE
      "event_name" = 'list_created') AS "t_2",
    MIN("occurred_at", 2) FILTER(WHERE
      "event_name" = 'export') AS "t_3"
  FROM __clg_pe_5 AS pe_5
  GROUP BY
    "customer_id",
    YEAR("occurred_at") * 12 + MONTH("occurred_at")
), __clg_pb_5 AS (
  SELECT
    a."customer_id",
    a."p",
    a."t_1",
    a."t_2",
    a."t_3"
  FROM __clg_pa_5 AS a
), __clg_pe_6 AS NOT MATERIALIZED (
  SELECT
    *
  FROM __clg_ev AS ev
  WHERE
    "event_name" = 'login'
), __clg_pa_6 AS (
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
    MIN("occurred_at", 3) FILTER(WHERE
      "event_name" = 'login') AS "t_1"
  FROM __clg_pe_6 AS pe_6
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
), __clg_pb_6 AS (
  SELECT
    a."customer_id",
    a."p",
    a."t_1"
  FROM __clg_pa_6 AS a
), __clg_s0 AS (
  SELECT
    COALESCE(lv."customer_id", cust."customer_id") AS "customer_id",
    cust."signed_up_at" AS "signed_up_at",
    lv."t_1" AS "l1",
    lv."t_2" AS "l2",
    lv."t_3"[5] AS "l3_0",
    lv."t_4"[1] AS "l3_1",
    lv."t_3"[10] AS "l4_0",
    lv."t_4"[2] AS "l4_1",
    lv."t_5"[2] AS "l4_2",
    lv."t_6" AS "l7_1_0",
    lv."t_7" AS "l7_1_1",
    lv."t_8" AS "l7_1_2",
    lv."first_event_at",
    lv."last_event_at"
  FROM __clg_lv AS lv
  FULL OUTER JOIN __clg_cust AS cust
    ON lv."customer_id" = cust."customer_id"
), __clg_q_5 AS (
  SELECT
    "customer_id",
    "p",
    "m"
  FROM (
    SELECT
      "customer_id",
      "p",
      CASE
        WHEN NOT "l5_0" IS NULL AND NOT "l5_1" IS NULL AND NOT "l5_2" IS NULL
        THEN GREATEST("l5_0", "l5_1", "l5_2")
      END AS "m"
    FROM (
      SELECT
        b."customer_id",
        b."p",
        b."t_1"[10] AS "l5_0",
        b."t_2"[2] AS "l5_1",
        b."t_3"[2] AS "l5_2"
      FROM __clg_pb_5 AS b
    ) AS a
  ) AS x
  WHERE
    NOT "m" IS NULL
), __clg_q_6 AS (
  SELECT
    "customer_id",
    "p",
    "m"
  FROM (
    SELECT
      "customer_id",
      "p",
      "m",
      LAG("p", 3) OVER (PARTITION BY "customer_id" ORDER BY "p") AS "p_back"
    FROM (
      SELECT
        "customer_id",
        "p",
        "l6" AS "m"
      FROM (
        SELECT
          b."customer_id",
          b."p",
          b."t_1"[3] AS "l6"
        FROM __clg_pb_6 AS b
      ) AS a
    ) AS x
    WHERE
      NOT "m" IS NULL
  ) AS y
  WHERE
    "p_back" = "p" - 3
), __clg_s_1 AS (
  SELECT
    s.*,
    s."l1" AS "r_1"
  FROM __clg_s0 AS s
), __clg_s_2 AS (
  SELECT
    s.*,
    CASE
      WHEN NOT s."l2" IS NULL AND NOT s."r_1" IS NULL
      THEN GREATEST(s."l2", s."r_1")
    END AS "r_2"
  FROM __clg_s_1 AS s
), __clg_s_3 AS (
  SELECT
    s.*,
    CASE
      WHEN NOT CASE
        WHEN NOT s."l3_0" IS NULL AND NOT s."l3_1" IS NULL
        THEN GREATEST(s."l3_0", s."l3_1")
      END IS NULL
      AND NOT s."r_2" IS NULL
      THEN GREATEST(
        CASE
          WHEN NOT s."l3_0" IS NULL AND NOT s."l3_1" IS NULL
          THEN GREATEST(s."l3_0", s."l3_1")
        END,
        s."r_2"
      )
    END AS "r_3"
  FROM __clg_s_2 AS s
), __clg_s_4 AS (
  SELECT
    s.*,
    CASE
      WHEN NOT CASE
        WHEN NOT s."l4_0" IS NULL AND NOT s."l4_1" IS NULL AND NOT s."l4_2" IS NULL
        THEN GREATEST(s."l4_0", s."l4_1", s."l4_2")
      END IS NULL
      AND NOT s."r_3" IS NULL
      THEN GREATEST(
        CASE
          WHEN NOT s."l4_0" IS NULL AND NOT s."l4_1" IS NULL AND NOT s."l4_2" IS NULL
          THEN GREATEST(s."l4_0", s."l4_1", s."l4_2")
        END,
        s."r_3"
      )
    END AS "r_4"
  FROM __clg_s_3 AS s
), __clg_j_5 AS (
  SELECT
    s."customer_id",
    MIN(GREATEST(q."m", s."r_4")) AS "raw"
  FROM __clg_s_4 AS s
  JOIN __clg_q_5 AS q
    ON q."customer_id" = s."customer_id"
    AND q."p" >= YEAR(s."r_4") * 12 + MONTH(s."r_4")
  GROUP BY
    s."customer_id"
), __clg_s_5 AS (
  SELECT
    s.*,
    j_5."raw" AS "r_5"
  FROM __clg_s_4 AS s
  LEFT JOIN __clg_j_5 AS j_5
    ON s."customer_id" = j_5."customer_id"
), __clg_j_6 AS (
  SELECT
    s."customer_id",
    MIN(GREATEST(q."m", s."r_5")) AS "raw"
  FROM __clg_s_5 AS s
  JOIN __clg_q_6 AS q
    ON q."customer_id" = s."customer_id"
    AND q."p" >= (
      (
        EPOCH_US(s."r_5") - 345600000000
      ) - (
        (
          (
            (
              EPOCH_US(s."r_5") - 345600000000
            ) % 604800000000
          ) + 604800000000
        ) % 604800000000
      )
    ) // 604800000000
  GROUP BY
    s."customer_id"
), __clg_s_6 AS (
  SELECT
    s.*,
    j_6."raw" AS "r_6"
  FROM __clg_s_5 AS s
  LEFT JOIN __clg_j_6 AS j_6
    ON s."customer_id" = j_6."customer_id"
), __clg_s_7 AS (
  SELECT
    s.*,
    CASE
      WHEN NOT s."signed_up_at" IS NULL
      AND CASE
        WHEN NOT CASE
          WHEN NOT s."r_5" IS NULL AND NOT LEAST(s."l7_1_0", s."l7_1_1", s."l7_1_2") IS NULL
          THEN GREATEST(s."r_5", LEAST(s."l7_1_0", s."l7_1_1", s."l7_1_2"))
        END IS NULL
        AND NOT s."r_6" IS NULL
        THEN GREATEST(
          CASE
            WHEN NOT s."r_5" IS NULL AND NOT LEAST(s."l7_1_0", s."l7_1_1", s."l7_1_2") IS NULL
            THEN GREATEST(s."r_5", LEAST(s."l7_1_0", s."l7_1_1", s."l7_1_2"))
          END,
          s."r_6"
        )
      END <= s."signed_up_at" + INTERVAL '90' DAY
      THEN CASE
        WHEN NOT CASE
          WHEN NOT s."r_5" IS NULL AND NOT LEAST(s."l7_1_0", s."l7_1_1", s."l7_1_2") IS NULL
          THEN GREATEST(s."r_5", LEAST(s."l7_1_0", s."l7_1_1", s."l7_1_2"))
        END IS NULL
        AND NOT s."r_6" IS NULL
        THEN GREATEST(
          CASE
            WHEN NOT s."r_5" IS NULL AND NOT LEAST(s."l7_1_0", s."l7_1_1", s."l7_1_2") IS NULL
            THEN GREATEST(s."r_5", LEAST(s."l7_1_0", s."l7_1_1", s."l7_1_2"))
          END,
          s."r_6"
        )
      END
    END AS "r_7"
  FROM __clg_s_6 AS s
), __clg_qk_5 AS (
  SELECT
    "customer_id",
    ARRAY_AGG("p" ORDER BY "p" NULLS FIRST) AS "k_5"
  FROM __clg_q_5 AS q_5
  GROUP BY
    "customer_id"
), __clg_qk_6 AS (
  SELECT
    "customer_id",
    ARRAY_AGG("p" ORDER BY "p" NULLS FIRST) AS "k_6"
  FROM __clg_q_6 AS q_6
  GROUP BY
    "customer_id"
), __clg_sk AS (
  SELECT
    s.*,
    qk_5."k_5",
    qk_6."k_6"
  FROM __clg_s_7 AS s
  LEFT JOIN __clg_qk_5 AS qk_5
    ON s."customer_id" = qk_5."customer_id"
  LEFT JOIN __clg_qk_6 AS qk_6
    ON s."customer_id" = qk_6."customer_id"
)
SELECT
  "customer_id",
  "signed_up_at",
  "r_1",
  "r_2",
  "r_3",
  "r_4",
  "r_5",
  "r_6",
  "r_7",
  "first_event_at",
  "last_event_at",
  "k_5",
  "k_6"
FROM __clg_sk AS sk
