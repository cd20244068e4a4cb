"""The bench project built on another engine than DuckDB: what PostgreSQL and Spark share.

``run.py --engine duckdb,postgres,spark`` times each engine's builds as contenders of the same
alternating rounds as DuckDB's (``postgres:build_skip_checks``, ``spark:build``, ...), so that the
ratios between engines are taken under the same load. An engine (``postgres.py``, ``spark.py``)
says how to load the generated data into its warehouse once (not timed), which environment makes
``bench/project/profiles.yml``'s target write into a fresh namespace (schema or database), how to
read a table back, and which other processes to sample for memory (PostgreSQL's server). This
module runs the builds and compares their ``milestone_status`` and ``funnel`` with the DuckDB
reference's row for row.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path

from measure import Run, run_child

ENGINES = ("postgres", "spark")
KINDS = {"build_skip_checks": ["--skip-checks"], "build": []}
STATUS_COLUMNS = ["journey", "customer_id", "phase", "milestone", "milestone_index", "kpi", "reached_at",
                  "is_reached", "status"]
FUNNEL_COLUMNS = ["journey", "milestone_index", "customers_reached", "pct_of_first", "pct_of_previous",
                  "dropped_from_previous", "median_days_from_previous"]
TABLES = {"milestone_status": STATUS_COLUMNS, "funnel": FUNNEL_COLUMNS}


class Warehouse:
    """One engine's side of the benchmark (subclassed per engine)."""

    name = ""  # the engine, as given to --engine
    target = ""  # the target in bench/project/profiles.yml

    def __init__(self, args, db: Path, scratch: Path):
        self.args, self.db, self.scratch = args, db, scratch
        self.built: dict[str, str] = {}  # contender -> the namespace its last round wrote into
        self.rounds = 0

    # -- per engine ------------------------------------------------------------------------------
    def load(self) -> None:
        """Copy the generated events and customers into the warehouse (once per size)."""
        raise NotImplementedError

    def fresh(self, namespace: str) -> dict[str, str]:
        """Make ``namespace`` empty (not timed); the environment that points the target at it."""
        raise NotImplementedError

    def rows(self, namespace: str, table: str, columns: list[str]) -> list[tuple]:
        raise NotImplementedError

    def watch(self) -> Callable[[], Iterable[int]] | None:
        """Processes besides the build's own tree whose memory is sampled during a build."""
        return None

    def before(self) -> None:
        """Just before a timed build (e.g. read the server's counters)."""

    def after(self, run: Run) -> None:
        """Just after a timed build: add what the engine tells about it to ``run``."""

    def close(self) -> None:
        """Remove the namespaces the builds wrote (not timed)."""

    # -- shared ----------------------------------------------------------------------------------
    def contenders(self, kinds: Iterable[str], bench, clg_command, read_results, as_of: str) -> dict[str, Callable[[], Run]]:
        """``engine:kind`` -> a callable that times one build of that kind into a fresh namespace."""
        def contender(kind: str) -> Callable[[], Run]:
            def build() -> Run:
                self.rounds += 1
                namespace = f"clg_bench_{kind}_{self.rounds}"
                env = dict(os.environ, **self.fresh(namespace))
                env.pop("CLG_PROFILES_DIR", None)
                self.before()
                run = run_child(clg_command() + ["build", "--project-dir", str(bench.project), "--target", self.target,
                                                 "--as-of", as_of, *KINDS[kind]], env=env,
                                timeout=self.args.timeout, watch=self.watch())
                self.after(run)
                read_results(run, bench.project / "target" / "run_results.json")
                self.built[f"{self.name}:{kind}"] = namespace
                return run
            return build

        return {f"{self.name}:{kind}": contender(kind) for kind in kinds if kind in KINDS}

    def compare(self, contender: str, ref_db: Path) -> dict[str, int]:
        """Rows of milestone_status and funnel in the last build of ``contender`` and not in the
        reference's, and the other way round (as multisets, over every column)."""
        import duckdb

        con = duckdb.connect(str(ref_db), read_only=True)
        diffs: dict[str, int] = {}
        for table, columns in TABLES.items():
            expected = Counter(map(_plain, con.execute(f"SELECT {', '.join(columns)} FROM main.{table}").fetchall()))
            got = Counter(map(_plain, self.rows(self.built[contender], table, columns)))
            only_build, only_ref = got - expected, expected - got
            diffs[f"{table}_rows"] = sum(got.values())
            diffs[f"{table}_differing_rows"] = sum(only_build.values()) + sum(only_ref.values())
            print(f"{contender} {table}: {sum(got.values()):,} rows, reference {sum(expected.values()):,}; "
                  f"only in the build {sum(only_build.values()):,}, only in the reference {sum(only_ref.values()):,}")
            for row in list(only_build)[:3]:
                print("   build", row, file=sys.stderr)
            for row in list(only_ref)[:3]:
                print("   ref  ", row, file=sys.stderr)
        con.close()
        return diffs


def _plain(row: tuple) -> tuple:
    """Decimals as floats: engines type the funnel's rounded percentages as DECIMAL or DOUBLE."""
    return tuple(float(v) if isinstance(v, Decimal) else v for v in row)


def connect(args, db: Path, scratch: Path, engines: Iterable[str]) -> list[Warehouse]:
    """The Warehouse of each engine named (other than duckdb), its data loaded."""
    found = []
    for name in engines:
        if name == "postgres":
            from postgres import Postgres as kind
        elif name == "spark":
            from spark import Spark as kind
        else:
            continue
        warehouse = kind(args, db, scratch)
        print(f"loading the generated data into {name} (once per size; not timed) ...", flush=True)
        warehouse.load()
        found.append(warehouse)
    return found


def print_side_by_side(contenders: dict, diffs: dict) -> None:
    """One line per build, every engine: median wall time, peak memory, ratios, rows, load."""
    builds = [n for n in contenders if n.split(":")[-1] in KINDS]
    if not any(":" in n for n in builds):
        return
    reference = contenders.get("reference")
    print(f"\n== side by side (median wall; memory: peak of the build's process tree, sampled; PostgreSQL: "
          f"+ the server's private memory and temp files) ==\n"
          f"{'build':30} {'wall':>8} {'min':>8} {'memory':>26} {'/ DuckDB':>9} {'/ ref':>7} {'rows equal':>16} {'load':>5}")
    if reference:
        print(f"{'reference (DuckDB, hand-written)':30} {reference.median():7.2f}s {min(r.wall for r in reference.runs):7.2f}s "
              f"{max(r.tree_mb for r in reference.runs):23,.0f} MB {'':>9} {'1.00x':>7} {'':>16} "
              f"{reference.median('load'):5.1f}")
    for name in builds:
        c, kind = contenders[name], name.split(":")[-1]
        memory = f"{max(r.tree_mb for r in c.runs):,.0f} MB"
        if c.runs[0].watched_mb is not None:
            temp = max((r.engine or {}).get("temp_mb", 0) for r in c.runs)
            memory += f" + {max(r.watched_mb for r in c.runs):,.0f} MB, {temp:,.0f} MB tmp"
        duck = contenders.get(kind)
        vs_duck = f"{c.median() / duck.median():.2f}x" if duck and ":" in name else ""
        vs_ref = f"{c.median() / reference.median():.2f}x" if reference else ""
        d = diffs.get(name, {})
        rows = (f"{d['milestone_status_differing_rows']:,} / {d['funnel_differing_rows']:,} differ"
                if "funnel_differing_rows" in d else "")
        print(f"{(name if ':' in name else 'duckdb:' + name):30} {c.median():7.2f}s {min(r.wall for r in c.runs):7.2f}s "
              f"{memory:>26} {vs_duck:>9} {vs_ref:>7} {rows:>16} {c.median('load'):5.1f}")
    print("(rows equal: rows of milestone_status / funnel in one of the build and the reference but not the other)")
