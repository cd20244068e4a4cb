"""PostgreSQL's n-th smallest per group, two formulations side by side (issue 14, item 4).

    .ci/with-servers .venv/bin/python bench/pg_nth.py [--events 1000000] [--rounds 2]

Loads the generated events into the server's schema ``main`` (``postgres.load``), then times,
alternating, the five bounded leaves of the bench journey (search >= 5, list_created >= 2,
search >= 10, export >= 2, login >= 3) per customer, as

- A, what ``dialects.py`` emits: ``(ARRAY_AGG(ts ORDER BY ts) FILTER (WHERE leaf))[n]``;
- B, a running count: ``count(*) FILTER (WHERE leaf) OVER (PARTITION BY customer_id ORDER BY ts
  ROWS UNBOUNDED PRECEDING)`` in a subquery, then ``min(ts) FILTER (WHERE leaf AND count = n)``;

checks their rows are equal and prints EXPLAIN ANALYZE of both. Results in bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate
import postgres

LEAVES = [("search", 5), ("list_created", 2), ("search", 10), ("export", 2), ("login", 3)]
KEEP = "event_name = '{}' AND occurred_at IS NOT NULL"
ARRAYS = ", ".join(f"(array_agg(occurred_at ORDER BY occurred_at) FILTER (WHERE {KEEP.format(e)}))[{n}] AS l{i}"
                   for i, (e, n) in enumerate(LEAVES))
A = f"SELECT customer_id, {ARRAYS}, min(occurred_at), max(occurred_at) FROM main.events GROUP BY customer_id"
WINDOWS = ", ".join(f"count(*) FILTER (WHERE {KEEP.format(e)}) OVER w AS k{i}" for i, (e, _) in enumerate(LEAVES))
MINS = ", ".join(f"min(occurred_at) FILTER (WHERE {KEEP.format(e)} AND k{i} = {n}) AS l{i}" for i, (e, n) in enumerate(LEAVES))
B = (f"SELECT customer_id, {MINS}, min(occurred_at), max(occurred_at) FROM (SELECT *, {WINDOWS} FROM main.events "
     "WINDOW w AS (PARTITION BY customer_id ORDER BY occurred_at ROWS UNBOUNDED PRECEDING)) x GROUP BY customer_id")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/clg-bench"))
    args = parser.parse_args()
    db = generate.paths(args.data_dir, args.events)["db"]
    if not db.exists():
        generate.generate(args.events, args.data_dir, parquet=False)
    postgres.load(db, args.data_dir)
    with postgres._connect() as pg:
        print(pg.execute("SELECT version()").fetchone()[0])
        for _ in range(args.rounds):
            for name, query in (("A array_agg", A), ("B running count", B)):
                started = time.perf_counter()
                pg.execute(f"CREATE TEMP TABLE t AS {query}")
                print(f"{name:16} {time.perf_counter() - started:.2f}s", flush=True)
                pg.execute("DROP TABLE t")
        print("rows equal:", set(pg.execute(A).fetchall()) == set(pg.execute(B).fetchall()))
        for name, query in (("A", A), ("B", B)):
            print(f"-- EXPLAIN ANALYZE {name}")
            print("\n".join(r[0] for r in pg.execute("EXPLAIN ANALYZE " + query).fetchall()))


if __name__ == "__main__":
    main()
