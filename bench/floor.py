#!/usr/bin/env python3
"""The benchmark's floor: one scan of the events with one GROUP BY customer_id, materialized.

usage: floor.py DB.duckdb [MEMORY_LIMIT] [THREADS]

Opens DB read-only and materializes, in a TEMP table,
    SELECT customer_id, count(*) FILTER (WHERE event_name = 'search') FROM events GROUP BY customer_id
(``count(*)`` alone would read only metadata: the FILTER forces a real scan of two columns).
Prints the rows and the seconds the statement took.
"""

import sys
import time

import duckdb

FLOOR_SQL = ("CREATE TEMP TABLE bench_floor AS SELECT customer_id, count(*) FILTER (WHERE event_name = 'search') "
             "AS searches FROM events GROUP BY customer_id")


def main() -> None:
    if len(sys.argv) not in (2, 3, 4):
        sys.exit(__doc__)
    config = {"threads": int(sys.argv[3]) if len(sys.argv) > 3 else 2}
    if len(sys.argv) > 2 and sys.argv[2]:
        config["memory_limit"] = sys.argv[2]
    con = duckdb.connect(sys.argv[1], read_only=True, config=config)
    con.execute("SET enable_progress_bar = false")
    started = time.perf_counter()
    con.execute(FLOOR_SQL)
    seconds = time.perf_counter() - started
    rows = con.execute("SELECT count(*) FROM bench_floor").fetchone()[0]
    print(f"floor: {rows} rows; {seconds:.3f}s")
    con.close()


if __name__ == "__main__":
    main()
