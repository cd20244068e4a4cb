-- segment_members
SELECT
  CAST('segments' AS TEXT) AS "journey",
  CAST('best' AS TEXT) AS "segment",
  p."customer_id"
FROM progress AS p
WHERE
  (
    COALESCE(
      p."customer_id" IN (
        SELECT
          "customer_id"
        FROM customers
        WHERE
          NOT "customer_id" IS NULL AND (
            "plan" IN ('pro', 'agency')
          )
      ),
      FALSE
    )
  )
  AND (
    COALESCE(
      1735689600000000 - EPOCH_US(p."signed_up_at") >= 7776000000000.0
      AND 1735689600000000 - EPOCH_US(p."signed_up_at") <= 15552000000000.0,
      FALSE
    )
  )
  AND (
    COALESCE(p."g1_2_c", 0) >= 0 AND COALESCE(p."g1_2_c", 0) <= 2
  )
  AND (
    CASE
      WHEN NOT p."r_2" IS NULL
      THEN 'reached'
      WHEN p."r_1" IS NULL
      THEN 'not_eligible'
      ELSE 'in_progress'
    END = 'reached'
  )
UNION ALL
SELECT
  CAST('segments' AS TEXT) AS "journey",
  CAST('went_quiet' AS TEXT) AS "segment",
  p."customer_id"
FROM progress AS p
WHERE
  (
    CASE WHEN NOT p."r_1" IS NULL THEN 'reached' ELSE 'in_progress' END = 'reached'
  )
  AND (
    NOT (
      CASE
        WHEN NOT p."r_3" IS NULL
        THEN 'reached'
        WHEN p."r_2" IS NULL
        THEN 'not_eligible'
        ELSE 'in_progress'
      END = 'reached'
    )
  )
  AND (
    p."g2_2_m" IS NULL OR p."g2_2_m" >= -1734480000000000
  )
UNION ALL
SELECT
  CAST('segments' AS TEXT) AS "journey",
  CAST('explorers' AS TEXT) AS "segment",
  p."customer_id"
FROM progress AS p
WHERE
  (
    COALESCE(p."g3_0_n" < -1735430400000000, FALSE)
  )
  OR (
    COALESCE(
      p."customer_id" IN (
        SELECT
          "customer_id"
        FROM customers
        WHERE
          NOT "customer_id" IS NULL AND (
            "plan" = 'free'
          )
      ),
      FALSE
    )
  );
-- success_gaps
SELECT
  CAST('segments' AS TEXT) AS "journey",
  r."segment",
  r."from_milestone",
  r."to_index",
  r."to_milestone",
  CAST(r."at_from" AS BIGINT) AS "customers_at_from",
  CAST(r."converted" AS BIGINT) AS "customers_converted",
  CASE
    WHEN r."at_from" > 0
    THEN CAST(CAST(SIGN(10000 * r."converted") AS BIGINT) * (
      (
        CAST(2 AS BIGINT) * ABS(10000 * r."converted") + r."at_from"
      ) // (
        CAST(2 AS BIGINT) * r."at_from"
      )
    ) AS DOUBLE) / 100.0
  END AS "conversion_pct",
  CAST(r."at_from" - r."converted" AS BIGINT) AS "dropped",
  CAST(r."still" AS BIGINT) AS "still_in_progress",
  CAST('best' AS TEXT) AS "benchmark_segment",
  CASE
    WHEN r."b_from" > 0
    THEN CAST(CAST(SIGN(10000 * r."b_converted") AS BIGINT) * (
      (
        CAST(2 AS BIGINT) * ABS(10000 * r."b_converted") + r."b_from"
      ) // (
        CAST(2 AS BIGINT) * r."b_from"
      )
    ) AS DOUBLE) / 100.0
  END AS "benchmark_conversion_pct",
  CAST(r."gap_h" AS DOUBLE) / 100.0 AS "gap_customers",
  CAST(ROW_NUMBER() OVER (
    PARTITION BY r."segment"
    ORDER BY CASE WHEN r."gap_h" IS NULL THEN 1 ELSE 0 END NULLS FIRST, r."gap_h" DESC, r."at_from" - r."converted" DESC, r."to_index" NULLS FIRST
  ) AS INT) AS "rank"
FROM (
  SELECT
    b.*,
    CASE
      WHEN b."at_from" > 0 AND b."b_from" > 0
      THEN CAST(SIGN(
        100 * (
          CAST(b."at_from" AS BIGINT) * b."b_converted" - CAST(b."converted" AS BIGINT) * b."b_from"
        )
      ) AS BIGINT) * (
        (
          CAST(2 AS BIGINT) * ABS(
            100 * (
              CAST(b."at_from" AS BIGINT) * b."b_converted" - CAST(b."converted" AS BIGINT) * b."b_from"
            )
          ) + b."b_from"
        ) // (
          CAST(2 AS BIGINT) * b."b_from"
        )
      )
    END AS "gap_h"
  FROM (
    SELECT
      s.*,
      MAX(CASE WHEN s."segment" = CAST('best' AS TEXT) THEN s."at_from" END) OVER (PARTITION BY s."to_index") AS "b_from",
      MAX(CASE WHEN s."segment" = CAST('best' AS TEXT) THEN s."converted" END) OVER (PARTITION BY s."to_index") AS "b_converted"
    FROM (
      SELECT
        a."segment",
        d."to_index",
        d."from_milestone",
        d."to_milestone",
        CASE d."to_index" WHEN 2 THEN a."f_2" WHEN 3 THEN a."f_3" END AS "at_from",
        CASE d."to_index" WHEN 2 THEN a."v_2" WHEN 3 THEN a."v_3" END AS "converted",
        CASE d."to_index" WHEN 2 THEN a."p_2" WHEN 3 THEN a."p_3" END AS "still"
      FROM (
        SELECT
          g."segment",
          COUNT(CASE WHEN NOT x."r_1" IS NULL THEN 1 END) AS "f_2",
          COUNT(CASE WHEN NOT x."r_1" IS NULL AND NOT x."r_2" IS NULL THEN 1 END) AS "v_2",
          COUNT(
            CASE
              WHEN NOT x."r_1" IS NULL
              AND x."r_2" IS NULL
              AND CASE
                WHEN NOT x."r_2" IS NULL
                THEN 'reached'
                WHEN x."r_1" IS NULL
                THEN 'not_eligible'
                ELSE 'in_progress'
              END = 'in_progress'
              THEN 1
            END
          ) AS "p_2",
          COUNT(CASE WHEN NOT x."r_2" IS NULL THEN 1 END) AS "f_3",
          COUNT(CASE WHEN NOT x."r_2" IS NULL AND NOT x."r_3" IS NULL THEN 1 END) AS "v_3",
          COUNT(
            CASE
              WHEN NOT x."r_2" IS NULL
              AND x."r_3" IS NULL
              AND CASE
                WHEN NOT x."r_3" IS NULL
                THEN 'reached'
                WHEN x."r_2" IS NULL
                THEN 'not_eligible'
                ELSE 'in_progress'
              END = 'in_progress'
              THEN 1
            END
          ) AS "p_3"
        FROM (VALUES
          (CAST('all' AS TEXT)),
          (CAST('best' AS TEXT)),
          (CAST('went_quiet' AS TEXT)),
          (CAST('explorers' AS TEXT))) AS g(segment)
        LEFT JOIN (
          SELECT
            CAST('all' AS TEXT) AS "segment",
            p.*
          FROM progress AS p
          UNION ALL
          SELECT
            m."segment",
            p.*
          FROM progress AS p
          JOIN segment_members AS m
            ON m."customer_id" = p."customer_id" AND m."journey" = CAST('segments' AS TEXT)
        ) AS x
          ON x."segment" = g."segment"
        GROUP BY
          g."segment"
      ) AS a
      CROSS JOIN (VALUES
        (CAST(2 AS INT), CAST('signed_up' AS TEXT), CAST('first_value' AS TEXT)),
        (CAST(3 AS INT), CAST('first_value' AS TEXT), CAST('habit' AS TEXT))) AS d(to_index, from_milestone, to_milestone)
    ) AS s
  ) AS b
) AS r;
