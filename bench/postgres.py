"""``run.py --engine postgres``: the same bench project built on PostgreSQL (issue 14, item 4).

The server comes from the environment ``.ci/with-servers`` exports (CLG_TEST_PG_HOST, _PORT, _USER,
_DBNAME). The generated DuckDB data is copied once into the server's schema ``main`` (tables
``events`` and ``customers``, as ``sql/stg_events.sql`` and the journey name them; not timed);
each round then builds into a fresh output schema (``bench/project/profiles.yml``, target ``pg``,
schema from CLG_BENCH_PG_SCHEMA), alternating ``build_skip_checks`` and ``build``. The build's
``milestone_status`` is compared row for row with the DuckDB reference's (run once, not timed).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _connect():
    import psycopg

    return psycopg.connect(host=os.environ["CLG_TEST_PG_HOST"], port=int(os.environ["CLG_TEST_PG_PORT"]),
                           user=os.environ["CLG_TEST_PG_USER"], dbname=os.environ["CLG_TEST_PG_DBNAME"], autocommit=True)


def load(db: Path, scratch: Path) -> None:
    """Copy events and customers from the generated DuckDB file into schema ``main`` (once per size)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    n_events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    with _connect() as pg:
        have = pg.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                          "AND table_name = 'events'").fetchone()[0]
        if have and pg.execute("SELECT count(*) FROM main.events").fetchone()[0] == n_events and pg.execute(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = 'main' AND table_name = "
                "'events' AND column_name = 'customer_id'").fetchone()[0] == "bigint":
            return
        pg.execute("DROP SCHEMA IF EXISTS main CASCADE")
        pg.execute("CREATE SCHEMA main")
        pg.execute("CREATE TABLE main.events (event_id BIGINT, customer_id BIGINT, event_name VARCHAR, "
                   "occurred_at TIMESTAMP)")
        pg.execute("CREATE TABLE main.customers (customer_id BIGINT, signed_up_at TIMESTAMP, plan VARCHAR)")
        for table, columns in (("events", "event_id, customer_id, event_name, occurred_at"),
                               ("customers", "customer_id, signed_up_at, plan")):
            path = scratch / f"{table}.csv"
            con.execute(f"COPY (SELECT {columns} FROM {table}) TO '{path}' (HEADER false)")
            with pg.cursor() as cur, cur.copy(f"COPY main.{table} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy, \
                    open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
            path.unlink()
        pg.execute("ANALYZE main.events")
        pg.execute("ANALYZE main.customers")
    con.close()


def _fresh_schema(schema: str) -> None:
    with _connect() as pg:
        pg.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def milestone_rows(schema: str) -> set[tuple]:
    with _connect() as pg:
        return set(pg.execute(f"SELECT journey, customer_id, milestone_index, milestone, status, reached_at "
                              f"FROM {schema}.milestone_status").fetchall())


def reference_rows(ref_db: Path) -> set[tuple]:
    import duckdb

    con = duckdb.connect(str(ref_db), read_only=True)
    rows = set(con.execute("SELECT journey, customer_id, milestone_index, milestone, status, reached_at "
                           "FROM milestone_status").fetchall())
    con.close()
    return rows


def bench_postgres(args, db: Path, scratch: Path, bench, run_child, clg_command, AS_OF, REFERENCE) -> tuple[dict, bool]:
    print(f"\n== PostgreSQL, {args.events:,} events: {args.rounds} alternating rounds ==")
    load(db, scratch)
    names = [n for n in ("build_skip_checks", "build") if n in args.contenders] or ["build_skip_checks"]
    runs: dict[str, list] = {n: [] for n in names}
    for r in range(args.rounds):
        line = []
        for name in names[r % len(names):] + names[:r % len(names)]:
            schema = f"clg_bench_{name}"
            _fresh_schema(schema)  # a full build each round (not timed)
            env = dict(os.environ, CLG_BENCH_PG_SCHEMA=schema)
            env.pop("CLG_PROFILES_DIR", None)
            extra = ["--skip-checks"] if name == "build_skip_checks" else []
            run = run_child(clg_command() + ["build", "--project-dir", str(bench.project), "--target", "pg",
                                             "--as-of", AS_OF, *extra], env=env, timeout=args.timeout)
            if run.returncode != 0:
                print(run.stdout[-3000:])
                return {}, False
            runs[name].append(run)
            line.append(f"{name} {run.wall:.2f}s ({run.rss_mb:,.0f} MB client)")
        print(f"round {r + 1}: " + ", ".join(line), flush=True)
    result = {n: {"wall": [round(x.wall, 3) for x in rs], "median_wall": round(statistics.median(x.wall for x in rs), 3)}
              for n, rs in runs.items()}
    for n, rs in runs.items():
        print(f"{n:18} median {statistics.median(x.wall for x in rs):.2f}s  (min {min(x.wall for x in rs):.2f}s)")
    ref_db = scratch / "reference_pg_check.duckdb"
    done = subprocess.run([sys.executable, str(REFERENCE), str(db), AS_OF, str(ref_db)], capture_output=True, text=True, check=False)
    ok = done.returncode == 0
    if ok:
        expected = reference_rows(ref_db)
        got = milestone_rows(f"clg_bench_{names[-1]}")
        differing = len(expected ^ got)
        print(f"milestone_status on PostgreSQL: {len(got):,} rows, reference {len(expected):,}; "
              f"rows in one but not the other: {differing}")
        result["milestone_status_symmetric_difference"] = differing
        ok = differing == 0
        ref_db.unlink(missing_ok=True)
    return result, ok
