"""Spark's n-th smallest per group, three formulations side by side (issue 14, item 4).

    .ci/with-servers .venv/bin/python bench/spark_nth.py [--events 1000000] [--rounds 2]

On the bench warehouse ``DIR/spark_N`` (loaded by ``run.py --engine spark``, or here), in one
local[2] session with the bench profile's settings, times alternately the five bounded leaves of
the bench journey (search >= 5, list_created >= 2, search >= 10, export >= 2, login >= 3) per
customer, as

- A, what ``dialects.py`` emitted before: ``try_element_at(array_sort(collect_list(ts) FILTER
  (WHERE leaf)), n)`` (every matching value of the group kept, then sorted);
- B, Spark 4.2's bounded top-k aggregate: ``try_element_at(min_by(ts, ts, n) FILTER (WHERE leaf), n)``;
- C, a running count: ``count(CASE WHEN leaf THEN 1 END) OVER (PARTITION BY customer_id ORDER BY ts
  ROWS UNBOUNDED PRECEDING)`` in a subquery, then ``min(CASE WHEN leaf AND count = n THEN ts END)``;

each executed to the end by the ``noop`` writer (no output written), checks that their rows are
equal and prints the physical plan of each. Results in bench/README.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import spark as bench_spark

LEAVES = [("search", 5), ("list_created", 2), ("search", 10), ("export", 2), ("login", 3)]
KEEP = "event_name = '{}' AND occurred_at IS NOT NULL"
TAIL = "min(occurred_at) AS first_at, max(occurred_at) AS last_at FROM main.events"
A = ("SELECT customer_id, " + ", ".join(
    f"try_element_at(array_sort(collect_list(occurred_at) FILTER (WHERE {KEEP.format(e)})), {n}) AS l{i}"
    for i, (e, n) in enumerate(LEAVES)) + f", {TAIL} GROUP BY customer_id")
B = ("SELECT customer_id, " + ", ".join(
    f"try_element_at(min_by(occurred_at, occurred_at, {n}) FILTER (WHERE {KEEP.format(e)}), {n}) AS l{i}"
    for i, (e, n) in enumerate(LEAVES)) + f", {TAIL} GROUP BY customer_id")
WINDOWS = ", ".join(f"count(CASE WHEN {KEEP.format(e)} THEN 1 END) OVER w AS k{i}" for i, (e, _) in enumerate(LEAVES))
MINS = ", ".join(f"min(CASE WHEN {KEEP.format(e)} AND k{i} = {n} THEN occurred_at END) AS l{i}"
                 for i, (e, n) in enumerate(LEAVES))
C = (f"SELECT customer_id, {MINS}, min(occurred_at) AS first_at, max(occurred_at) AS last_at "
     f"FROM (SELECT *, {WINDOWS} FROM main.events "
     "WINDOW w AS (PARTITION BY customer_id ORDER BY occurred_at ROWS UNBOUNDED PRECEDING)) x GROUP BY customer_id")
QUERIES = {"A array_sort(collect_list)": A, "B min_by(x, x, n)": B, "C running count": C}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/clg-bench"))
    args = parser.parse_args()
    store = bench_spark.Spark(args, args.data_dir / f"events_{args.events}.duckdb", args.data_dir)
    store.load()  # a child process: done if the warehouse has the data already
    engine = bench_spark._engine(store.warehouse, "main")
    spark = engine.spark
    try:
        print("spark", spark.version)
        for r in range(args.rounds):
            names = list(QUERIES)[r % 3:] + list(QUERIES)[:r % 3]
            for name in names:
                started = time.perf_counter()
                spark.sql(QUERIES[name]).write.format("noop").mode("overwrite").save()
                print(f"round {r + 1} {name:28} {time.perf_counter() - started:.2f}s", flush=True)
        rows = {name: set(map(tuple, spark.sql(q).collect())) for name, q in QUERIES.items()}
        first = rows[next(iter(rows))]
        print("rows equal:", all(r == first for r in rows.values()), f"({len(first):,} customers)")
        for name, query in QUERIES.items():
            print(f"-- physical plan of {name}")
            spark.sql(query).explain()
    finally:
        engine.close()


if __name__ == "__main__":
    main()
