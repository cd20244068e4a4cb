#!/usr/bin/env python3
"""Generate the benchmark's product events, deterministically, with DuckDB SQL only.

usage: generate.py --events N [--out DIR] [--seed S] [--memory-limit 12GB] [--threads 2] [--force]

Writes, for N events (DIR defaults to $CLG_BENCH_DIR, else /tmp/clg-bench):
  DIR/events_N.duckdb     tables events(event_id, customer_id, event_name, occurred_at)
                          and customers(customer_id, signed_up_at, plan)
  DIR/events_N.parquet    the events table
  DIR/customers_N.parquet the customers table

The data (same N and seed -> same rows, on the same DuckDB version: the randomness is DuckDB's
``hash(...)``; no Python loop touches a row):
- customers = max(1000, N // 100) with events, ids 1..C; about 1% of them have no row in
  ``customers`` (events of unknown customers) and 2% more customers (ids after C) signed up but
  have no event; 0.5% of signups are NULL. Signups are uniform over 2024; plan free/pro/team/enterprise.
- power-law activity: half the customers have 1-2 events ("drive-by" visitors); the other half
  has 3 + a share of the remaining events proportional to a Pareto(alpha 1.1) weight capped at
  1500x (median ~60 events, p99 ~2,000, the heaviest ~50,000 at any scale). Event counts add up
  to exactly N.
- each customer is active from signup (some only after a delay of up to ~5 months, or a share of
  what is left of the year for a late signup) for a lifetime
  of a few days to the rest of the year, with activity front-loaded
  (t = signup + delay + lifetime * u^1.6), all within 2024; so heavy customers
  have dense weeks and months (3+ logins a week for 4 weeks, months with 10 searches, 2 lists and
  2 exports) and every milestone of the SPEC section 2 journey is reached by some customers, missed
  or still in progress by others.
- event mix (each event independently): page_view 40%, search 25%, login 12%, list_created 6%,
  export 5%, trial_started 3%, support_ticket 3%, upgrade, review, referral 2% each.
- events are stored in time order (as a warehouse appends them); event_id = position in that
  order (0-based), so ``event_id % 3`` (the benchmark's export format) is effectively random.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import duckdb

DEFAULT_DIR = os.environ.get("CLG_BENCH_DIR", "/tmp/clg-bench")
END_2024_US = "TIMESTAMP '2024-12-31 23:59:59.999999'"

# (event_name, share in percent); cumulative thresholds are derived from this list.
EVENT_MIX = [("page_view", 40), ("search", 25), ("login", 12), ("list_created", 6), ("export", 5),
             ("trial_started", 3), ("support_ticket", 3), ("upgrade", 2), ("review", 2), ("referral", 2)]
assert sum(p for _, p in EVENT_MIX) == 100


def customers_for(events: int) -> int:
    return max(1000, events // 100)


def paths(out: Path, events: int) -> dict[str, Path]:
    return {"db": out / f"events_{events}.duckdb", "events_parquet": out / f"events_{events}.parquet",
            "customers_parquet": out / f"customers_{events}.parquet"}


def event_name_case(u: str) -> str:
    """CASE over a uniform [0,1) expression picking the event name by the mix (literals are ours)."""
    parts, acc = [], 0
    for name, pct in EVENT_MIX[:-1]:
        acc += pct
        parts.append(f"WHEN {u} < {acc / 100!r} THEN '{name}'")
    return "CASE " + " ".join(parts) + f" ELSE '{EVENT_MIX[-1][0]}' END"


def statements(events: int, seed: int) -> list[tuple[str, str]]:
    """The generator as (label, SQL) steps. Uniforms: hash(key..., seed) / 2^64 in [0, 1)."""
    c = customers_for(events)
    extra = c // 50
    return [
        ("macros", f"""
CREATE OR REPLACE TEMP MACRO u1(a, tag) AS (hash(a, tag, {seed}::BIGINT) / 18446744073709551616.0);
CREATE OR REPLACE TEMP MACRO u2(a, b, tag) AS (hash(a, b, tag, {seed}::BIGINT) / 18446744073709551616.0);
"""),
        # activity weight per customer: drive-by (1-2 events) or Pareto weight (integer, exact sums)
        ("weights", f"""
CREATE OR REPLACE TEMP TABLE gen_w AS
SELECT i + 1 AS customer_id,
       u1(i, 'kind') < 0.5 AS driveby,
       CASE WHEN u1(i, 'kind') < 0.5 THEN 1 + (u1(i, 'n') < 0.5)::BIGINT ELSE 3 END AS base,
       CASE WHEN u1(i, 'kind') < 0.5 THEN 0::BIGINT
            ELSE round(1000 * least(pow(1 - u1(i, 'w'), -1 / 1.1), 1500.0))::BIGINT END AS wt
FROM range({c}) t(i)
"""),
        # n = base + floor-allocation of the remaining events by cumulative weight: sums to exactly N
        ("counts", f"""
CREATE OR REPLACE TEMP TABLE gen_n AS
WITH tot AS (SELECT {events} - sum(base) AS rest, sum(wt) AS total FROM gen_w),
cum AS (SELECT customer_id, base, sum(wt) OVER (ORDER BY customer_id) AS cw FROM gen_w)
SELECT customer_id,
       base + (cum.cw::HUGEINT * tot.rest // tot.total
               - coalesce(lag(cum.cw) OVER (ORDER BY customer_id), 0)::HUGEINT * tot.rest // tot.total)::BIGINT AS n
FROM cum, tot
"""),
        # signup; activity starts after a delay (most at once, some up to ~5 months later, scaled
        # into what is left of the year for a late signup: clamping it to the year's end instead
        # put ~8% of all events on its last microsecond) and lasts a lifetime
        # (microseconds), all within 2024
        ("profiles", f"""
CREATE OR REPLACE TEMP TABLE gen_c AS
SELECT customer_id, n, signup,
       (pow(u1(customer_id, 'delay'), 4)
        * least(epoch_us({END_2024_US}) - epoch_us(signup), 150 * 86400e6))::BIGINT AS delay_us,
       least(epoch_us({END_2024_US}) - epoch_us(signup) - delay_us,
             ((2 + pow(u1(customer_id, 'life'), 1.5) * 360) * 86400e6)::BIGINT) AS life_us
FROM (SELECT customer_id, n,
             TIMESTAMP '2024-01-01' + to_microseconds((u1(customer_id, 'signup') * 366 * 86400e6)::BIGINT) AS signup
      FROM gen_n)
"""),
        ("customers", f"""
CREATE OR REPLACE TABLE customers AS
SELECT customer_id,
       CASE WHEN u1(customer_id, 'nullsignup') < 0.005 THEN NULL ELSE signed_up_at END AS signed_up_at,
       CASE WHEN u1(customer_id, 'plan') < 0.60 THEN 'free' WHEN u1(customer_id, 'plan') < 0.90 THEN 'pro'
            WHEN u1(customer_id, 'plan') < 0.98 THEN 'team' ELSE 'enterprise' END AS plan
FROM (
  SELECT customer_id, signup AS signed_up_at FROM gen_c WHERE u1(customer_id, 'nocust') >= 0.01
  UNION ALL
  SELECT {c} + 1 + i, TIMESTAMP '2024-01-01' + to_microseconds((u1({c} + 1 + i, 'signup') * 366 * 86400e6)::BIGINT)
  FROM range({extra}) t(i)
)
ORDER BY customer_id
"""),
        # one event per (customer, k < n); the name and the moment come from hash(customer, k, tag)
        # (integer tags: a string tag costs ~30% more)
        ("raw events", f"""
CREATE OR REPLACE TEMP TABLE gen_e AS
SELECT customer_id::BIGINT AS customer_id, k,
       ({event_name_case("u2(customer_id, k, 1)")})::VARCHAR AS event_name,
       (signup + to_microseconds(delay_us + (life_us * pow(u2(customer_id, k, 2), 1.6))::BIGINT))::TIMESTAMP
         AS occurred_at
FROM (SELECT customer_id, signup, delay_us, life_us, unnest(range(n)) AS k FROM gen_c)
"""),
        ("events table", "CREATE OR REPLACE TABLE events (event_id BIGINT, customer_id BIGINT, event_name VARCHAR, "
                         "occurred_at TIMESTAMP)"),
    ] + [
        # stored in time order, a month at a time (12 sorts of N/12 rows need far less memory than one
        # of N); event_id = position in time order: a streaming row_number() over the sorted month
        (f"events of 2024-{month:02d}", f"""
INSERT INTO events
SELECT (SELECT count(*) FROM events) + row_number() OVER () - 1, customer_id, event_name, occurred_at
FROM (SELECT customer_id, event_name, occurred_at FROM gen_e
      WHERE occurred_at >= TIMESTAMP '2024-{month:02d}-01'
        AND occurred_at < TIMESTAMP '2024-01-01' + INTERVAL {month} MONTH
      ORDER BY occurred_at, customer_id, k)
""") for month in range(1, 13)
    ] + [
        ("drop scratch", "DROP TABLE gen_e; DROP TABLE gen_c; DROP TABLE gen_n; DROP TABLE gen_w"),
    ]


def generate(events: int, out: Path, seed: int = 42, memory_limit: str = "12GB", threads: int = 2,
             force: bool = False, parquet: bool = True, quiet: bool = False) -> dict[str, Path]:
    """Write the DuckDB file (and Parquet files); skip what already exists unless ``force``."""
    out.mkdir(parents=True, exist_ok=True)
    files = paths(out, events)
    log = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    if files["db"].exists() and not force:
        log(f"{files['db']} exists (use --force to regenerate)")
    else:
        tmp = files["db"].with_suffix(".duckdb.tmp")
        for p in (tmp, Path(str(tmp) + ".wal")):
            p.unlink(missing_ok=True)
        spill = out / "tmp"
        con = duckdb.connect(str(tmp), config={"threads": threads, "memory_limit": memory_limit,
                                               "temp_directory": str(spill), "preserve_insertion_order": True})
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        started = time.perf_counter()
        for label, sql in statements(events, seed):
            t = time.perf_counter()
            con.execute(sql)
            log(f"  {label:28} {time.perf_counter() - t:7.2f}s")
        con.execute("CHECKPOINT")
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
        tmp.replace(files["db"])
        log(f"wrote {files['db']} in {time.perf_counter() - started:.1f}s")
    if parquet:
        if files["events_parquet"].exists() and files["customers_parquet"].exists() and not force:
            log(f"{files['events_parquet']} exists")
        else:
            t = time.perf_counter()
            con = duckdb.connect(str(files["db"]), read_only=True, config={"threads": threads,
                                                                          "memory_limit": memory_limit})
            for table, key in (("events", "events_parquet"), ("customers", "customers_parquet")):
                tmp = files[key].with_suffix(".parquet.tmp")
                path = str(tmp).replace("'", "''")
                con.execute(f"COPY (SELECT * FROM {table}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
                tmp.replace(files[key])
            con.close()
            log(f"wrote {files['events_parquet'].name}, {files['customers_parquet'].name} in "
                f"{time.perf_counter() - t:.1f}s")
    return files


def summary(db: Path) -> None:
    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET enable_progress_bar = false")
    n, c, lo, hi = con.execute("SELECT count(*), count(DISTINCT customer_id), min(occurred_at), max(occurred_at) "
                               "FROM events").fetchone()
    k = con.execute("SELECT count(*) FROM customers").fetchone()[0]
    q = con.execute("SELECT quantile_disc(n, [0.5, 0.75, 0.9, 0.99]), max(n), avg((n <= 2)::INT) FROM "
                    "(SELECT count(*) AS n FROM events GROUP BY customer_id)").fetchone()
    print(f"events {n:,} of {c:,} customers ({lo} .. {hi}); customers table {k:,} rows")
    print(f"events per customer: median/p75/p90/p99 {q[0]}, max {q[1]:,}; share with 1-2 events {q[2]:.3f}")
    mix = con.execute("SELECT event_name, round(100 * count(*) / sum(count(*)) OVER (), 2) FROM events "
                      "GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
    print("mix: " + ", ".join(f"{e} {p}%" for e, p in mix))
    digest = con.execute("SELECT xor((SELECT bit_xor(hash(event_id, customer_id, event_name, occurred_at)) FROM events), "
                         "(SELECT bit_xor(hash(customer_id, signed_up_at, plan)) FROM customers))").fetchone()[0]
    print(f"content hash (same N and seed -> same value): {digest:016x}")
    con.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, required=True, help="number of events (e.g. 1000000)")
    parser.add_argument("--out", type=Path, default=Path(DEFAULT_DIR), help=f"output folder (default {DEFAULT_DIR})")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--memory-limit", default="12GB", help="DuckDB memory_limit while generating")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--force", action="store_true", help="regenerate even if the files exist")
    parser.add_argument("--no-parquet", action="store_true", help="only the DuckDB file")
    parser.add_argument("--summary", action="store_true", help="print a summary of the data afterwards")
    args = parser.parse_args(argv)
    if args.events < 1:
        sys.exit("--events must be positive")
    files = generate(args.events, args.out, args.seed, args.memory_limit, args.threads, args.force,
                     parquet=not args.no_parquet)
    if args.summary:
        summary(files["db"])


if __name__ == "__main__":
    main()
