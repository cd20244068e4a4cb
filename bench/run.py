#!/usr/bin/env python3
"""Benchmark `clg-metrics build` against the hand-written reference SQL and a one-scan floor.

usage: run.py [--events N] [--rounds 3] [--memory-limit 2GB] [--data-dir DIR] [--contenders LIST]
              [--cli-rounds 5] [--skip-build-bench] [--skip-cli-bench] [--timeout S] [--json FILE] [--keep]
              [--engine duckdb,postgres,spark] [--pg-work-mem 256MB]

Run by hand with the project's venv (never part of CI's pass/fail), e.g.
    .venv/bin/python bench/run.py --events 1000000

1. Makes sure DIR/events_N.duckdb exists (bench/generate.py; DIR = $CLG_BENCH_DIR or /tmp/clg-bench).
2. For each round (the order of the contenders rotates every round), each as a subprocess:
   - build:     `clg-metrics build` on a copy of bench/project, writing into a fresh scratch copy of
                the events DB (the build publishes into the DB it reads; the copy is not timed);
   - build_skip_checks: the same with --skip-checks (the SQL the compiler emits, without the
                data-quality checks);
   - reference: bench/reference/run_reference.py DB AS_OF OUT (DB read-only, OUT a fresh file), a
                verbatim copy of /work/shared/bench/ (the hand-written reference.sql); it runs with
                DuckDB's defaults (threads = CPUs, memory_limit 80% of RAM) as shipped;
   - floor:     bench/floor.py DB (one GROUP BY customer_id with one count(*) FILTER, materialized);
   - with --engine postgres / spark (under .ci/with-servers): postgres:build, spark:build_skip_checks,
                ... the same project built there (bench/warehouses.py, postgres.py, spark.py).
   Wall time, the child's peak RSS (/usr/bin/time's %M: that child alone) and the sampled peak RSS
   of its whole process tree (bench/measure.py) are recorded, plus the
   "in-process" time each reports itself, which leaves out interpreter start-up and imports: the
   build's run_results.json elapsed_time (compile, models, checks, publish), the reference's and
   the floor's printed seconds (their SQL only).
3. Prints medians, peak memory and the ratios build/reference and build/floor (and, with other
   engines, a side-by-side table: each engine's build against DuckDB's and the reference).
4. Compares the build's milestone_status with the reference's row for row and prints the number of
   differing rows (and the funnel's, which may differ in the last digit on exact rounding ties).
5. Times `clg-metrics --help`, `validate` and `compile` on a generated 20-milestone journey (a temp
   project), each as a subprocess, median of --cli-rounds.
Exit code: 0, or 1 if milestone_status differs or a subprocess failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "project"
# The hand-written reference: a verbatim copy of /work/shared/bench/{run_reference.py,reference.sql}
# in bench/reference/, so that a fresh clone runs; CLG_BENCH_REFERENCE names another run_reference.py.
SHARED_REFERENCE = Path("/work/shared/bench/run_reference.py")
REFERENCE = Path(os.environ.get("CLG_BENCH_REFERENCE", HERE / "reference" / "run_reference.py"))
DEFAULT_DIR = Path(os.environ.get("CLG_BENCH_DIR", "/tmp/clg-bench"))
AS_OF = "2025-01-01T00:00:00"
STATUS_COLUMNS = ["journey", "customer_id", "phase", "milestone", "milestone_index", "kpi", "reached_at",
                  "is_reached", "status"]

sys.path.insert(0, str(HERE))
import generate  # noqa: E402  (bench/generate.py)


import warehouses  # noqa: E402  (bench/warehouses.py: PostgreSQL and Spark)
from measure import Run, run_child  # noqa: E402  (bench/measure.py)


def clg_command() -> list[str]:
    """The installed console script next to this Python (what a user runs), else `python -m`."""
    script = Path(sys.executable).parent / "clg-metrics"
    if script.exists():
        return [str(script)]
    found = shutil.which("clg-metrics")
    return [found] if found else [sys.executable, "-m", "clg_metrics.cli"]


def fail(what: str, run: Run) -> None:
    print(f"\n{what} failed (exit {run.returncode}):\n{run.stdout[-3000:]}", file=sys.stderr)


def remove_db(path: Path) -> None:
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)


def read_results(run: Run, path: Path) -> None:
    """A build's own figures from its run_results.json: elapsed time, seconds per model and phase."""
    if run.returncode != 0 or not path.exists():
        return
    results = json.loads(path.read_text())
    run.inner = results.get("elapsed_time")
    run.models = {r["name"]: r.get("seconds") for r in results.get("results", [])}
    run.messages = {r["name"]: r.get("message") for r in results.get("results", [])}
    run.check_seconds = sum(c.get("seconds") or 0 for c in results.get("checks", []))
    run.phases = dict(results.get("phases") or {}, **({"serving: " + results["serving"]: 0.0}
                                                      if results.get("serving") else {}))


# -- the contenders ---------------------------------------------------------------------------------
@dataclass
class Contender:
    name: str
    runs: list[Run] = field(default_factory=list)

    def median(self, attr: str = "wall") -> float | None:
        values = [getattr(r, attr) for r in self.runs if getattr(r, attr) is not None]
        return statistics.median(values) if values else None

    def peak_rss(self) -> float:
        return max(r.rss_mb for r in self.runs)


class Bench:
    def __init__(self, args, db: Path, scratch: Path):
        self.args, self.db, self.scratch = args, db, scratch
        self.project = scratch / "project"  # a copy: target/ and run_results.json stay out of bench/
        self.build_db = scratch / "build.duckdb"
        self.build_nc_db = scratch / "build_skip_checks.duckdb"
        self.ref_db = scratch / "reference.duckdb"
        self.cut = None  # the event_id of the 99th percentile (the incremental contender appends the rest)
        shutil.rmtree(self.project, ignore_errors=True)
        shutil.copytree(PROJECT, self.project, ignore=shutil.ignore_patterns("target"))
        # The same project building SPEC section 3's outputs only (`outputs:` in clg_project.yml):
        # build_skip_checks / build_core is what the SPEC section 4 analysis tables cost.
        self.core_project = scratch / "project_core"
        self.core_db = scratch / "build_core.duckdb"
        shutil.rmtree(self.core_project, ignore_errors=True)
        shutil.copytree(PROJECT, self.core_project, ignore=shutil.ignore_patterns("target"))
        with open(self.core_project / "clg_project.yml", "a") as f:
            f.write("\noutputs: [" + ", ".join(CORE_OUTPUTS) + "]\n")

    def _build(self, db: Path, extra: list[str], project: Path | None = None) -> Run:
        project = project or self.project
        remove_db(db)
        shutil.copyfile(self.db, db)  # not timed: the build writes into the DB it reads
        env = dict(os.environ, CLG_BENCH_DB=str(db), CLG_BENCH_MEMORY_LIMIT=self.args.memory_limit)
        env.pop("CLG_PROFILES_DIR", None)
        run = run_child(clg_command() + ["build", "--project-dir", str(project), "--as-of", AS_OF, *extra],
                        env=env, timeout=self.args.timeout)
        read_results(run, project / "target" / "run_results.json")
        return run

    def build(self) -> Run:
        return self._build(self.build_db, [])

    def build_skip_checks(self) -> Run:
        return self._build(self.build_nc_db, ["--skip-checks"])

    def build_core(self) -> Run:
        """--skip-checks, SPEC section 3's outputs only (no segment state, no analysis tables)."""
        return self._build(self.core_db, ["--skip-checks"], self.core_project)

    def incremental(self, checks: bool = False) -> Run:
        """1% new events, an hour later: a full build (not timed) on a copy of the data without the
        last 1% of the events (``event_id`` is their position in time order), as of an hour before
        AS_OF; then those events appended (not timed) and the timed build as of AS_OF. With
        ``checks`` both builds run the built-in checks (the second from the first's state).

        (The last 1% by event id, not by time: a cut at the 99th percentile of time appends nothing
        when many events share that moment, as 8% did at the year's last microsecond before
        stop 18's fix of the generator.)"""
        import duckdb

        if self.cut is None:
            con = duckdb.connect(str(self.db), read_only=True)
            self.cut = con.execute("SELECT quantile_disc(event_id, 0.99) FROM events").fetchone()[0]
            con.close()
        db = self.scratch / "incremental.duckdb"
        remove_db(db)
        shutil.copyfile(self.db, db)
        con = duckdb.connect(str(db))
        con.execute("DELETE FROM events WHERE event_id > ?", [self.cut])
        con.close()
        env = dict(os.environ, CLG_BENCH_DB=str(db), CLG_BENCH_MEMORY_LIMIT=self.args.memory_limit)
        env.pop("CLG_PROFILES_DIR", None)
        skip = [] if checks else ["--skip-checks"]
        before = (datetime.fromisoformat(AS_OF) - timedelta(hours=1)).isoformat()
        first = run_child(clg_command() + ["build", "--project-dir", str(self.project), *skip,
                                           "--as-of", before], env=env, timeout=self.args.timeout)
        if first.returncode != 0:
            return first
        con = duckdb.connect(str(db))
        con.execute(f"ATTACH '{str(self.db).replace(chr(39), chr(39) * 2)}' AS source (READ_ONLY)")
        con.execute("INSERT INTO events SELECT * FROM source.events WHERE event_id > ?", [self.cut])
        con.close()
        run = run_child(clg_command() + ["build", "--project-dir", str(self.project), *skip,
                                         "--as-of", AS_OF], env=env, timeout=self.args.timeout)
        read_results(run, self.project / "target" / "run_results.json")
        modes = {n: m for n, m in (run.messages or {}).items() if n.startswith("progress__")}
        if any(not (m or "").startswith("incremental") for m in modes.values()):
            print(f"  warning: the incremental contender rebuilt in full: {modes}")
        return run

    def incremental_checks(self) -> Run:
        """``incremental`` with the built-in checks in both builds."""
        return self.incremental(checks=True)

    def reference(self) -> Run:
        remove_db(self.ref_db)
        run = run_child([sys.executable, str(REFERENCE), str(self.db), AS_OF, str(self.ref_db)],
                        timeout=self.args.timeout)
        m = re.search(r"rows; ([0-9.]+)s", run.stdout)
        run.inner = float(m.group(1)) if m else None
        return run

    def floor(self) -> Run:
        run = run_child([sys.executable, str(HERE / "floor.py"), str(self.db), self.args.memory_limit, "2"],
                        timeout=self.args.timeout)
        m = re.search(r"rows; ([0-9.]+)s", run.stdout)
        run.inner = float(m.group(1)) if m else None
        return run


CONTENDERS = ("build", "build_skip_checks", "build_core", "incremental", "incremental_checks", "reference", "floor")
CORE_OUTPUTS = ("milestone_status", "customer_progress", "funnel")  # SPEC section 3


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def print_checks_share(contenders: dict, without: str, with_checks: str, what: str) -> None:
    """``1 - without/with_checks`` by wall, in-process and CPU time, if both contenders ran."""
    if without not in contenders or with_checks not in contenders:
        return
    share = 1 - contenders[without].median() / contenders[with_checks].median()
    print(f"checks' share of {what} (1 - {without}/{with_checks}, wall): {100 * share:.1f}%")
    for field_name, label in (("inner", "in-process"), ("cpu", "cpu")):
        pair = (contenders[without].median(field_name), contenders[with_checks].median(field_name))
        if None not in pair:
            print(f"checks' share of {what} ({label}): {100 * (1 - pair[0] / pair[1]):.1f}%")


def bench_build(args, db: Path, scratch: Path) -> tuple[dict, bool]:
    bench = Bench(args, db, scratch)
    others = [e for e in args.engine if e != "duckdb"]
    names = [n for n in CONTENDERS if n in args.contenders and ("duckdb" in args.engine or n == "reference")]
    if others and "reference" not in names:
        names.append("reference")  # the rows every engine is compared with, and the ratios' base
    runners = {name: getattr(bench, name) for name in names}
    engine_kinds = [k for k in warehouses.KINDS if k in args.contenders] or ["build_skip_checks"]
    stores = warehouses.connect(args, db, scratch, others)
    for store in stores:
        runners |= store.contenders(engine_kinds, bench, clg_command, read_results, AS_OF)
    names = list(runners)
    contenders = {name: Contender(name) for name in names}
    print(f"\n== {args.events:,} events: {args.rounds} alternating rounds of {', '.join(names)} "
          f"(build and floor: memory_limit {args.memory_limit}, threads 2) ==")
    for r in range(args.rounds):
        rotation = names[r % len(names):] + names[:r % len(names)]
        line = []
        for name in rotation:
            run = runners[name]()
            if run.returncode != 0:
                fail(name, run)
                return {}, False
            contenders[name].runs.append(run)
            line.append(f"{name} {run.wall:.2f}s ({run.tree_mb:,.0f} MB, load {run.load:.1f})")
        print(f"round {r + 1}: " + ", ".join(line), flush=True)

    print(f"\n{'':26} {'median wall':>12} {'min':>8} {'max':>8} {'in-process':>11} {'cpu':>8} {'RSS (%M)':>10} {'tree RSS':>10}")
    for c in contenders.values():
        walls = [r.wall for r in c.runs]
        inner, cpu = c.median("inner"), c.median("cpu")
        print(f"{c.name:26} {c.median():11.2f}s {min(walls):7.2f}s {max(walls):7.2f}s "
              f"{(f'{inner:10.2f}s' if inner is not None else '          -')} "
              f"{(f'{cpu:7.2f}s' if cpu is not None else '       -')} {c.peak_rss():8,.0f} MB {max(r.tree_mb for r in c.runs):7,.0f} MB")
    ratios: dict[str, float] = {}
    inner_ratios: dict[str, float] = {}
    for top in ("build", "build_skip_checks", "reference"):
        for bottom in ("reference", "floor"):
            if top == bottom or top not in contenders or bottom not in contenders:
                continue
            key = f"{top}/{bottom}"
            ratios[key] = _ratio(contenders[top].median(), contenders[bottom].median())
            value = _ratio(contenders[top].median("inner"), contenders[bottom].median("inner"))
            if value is not None:
                inner_ratios[key] = value
    if "build_core" in contenders and "build_skip_checks" in contenders:  # issue 12: <= 1.25
        ratios["analysis: build_skip_checks/build_core"] = _ratio(contenders["build_skip_checks"].median(),
                                                                  contenders["build_core"].median())
        value = _ratio(contenders["build_skip_checks"].median("inner"), contenders["build_core"].median("inner"))
        if value is not None:
            inner_ratios["analysis: build_skip_checks/build_core"] = value
    # checks' share of the build (target <= 10%), full and incremental
    print_checks_share(contenders, "build_skip_checks", "build", "the build")
    for name in ("build", "incremental_checks"):  # the checks' own seconds, in run_results.json
        seconds = [r.check_seconds for r in contenders[name].runs if r.check_seconds is not None] \
            if name in contenders else []
        if seconds:
            print(f"{name}: the checks' own seconds (run_results.json) median {statistics.median(seconds):.2f}s")
    print_checks_share(contenders, "incremental", "incremental_checks", "the incremental build")
    if "incremental" in contenders and "build_skip_checks" in contenders:  # the target: <= 0.10
        ratios["incremental/build_skip_checks"] = _ratio(contenders["incremental"].median(),
                                                         contenders["build_skip_checks"].median())
        value = _ratio(contenders["incremental"].median("inner"), contenders["build_skip_checks"].median("inner"))
        if value is not None:
            inner_ratios["incremental/build_skip_checks"] = value
    print("ratios (wall):       " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))
    print("ratios (in-process): " + ", ".join(f"{k} {v:.2f}x" for k, v in inner_ratios.items()))
    for name in contenders:
        if name in ("reference", "floor"):
            continue
        runs = contenders[name].runs
        per_model = {m: statistics.median(r.models[m] for r in runs if r.models and m in r.models)
                     for m in (runs[-1].models or {})}
        in_models = sum(per_model.values())
        print(f"\n{name}: median seconds per model (run_results.json), and what is not a model:")
        for m, sec in per_model.items():
            print(f"  {m:36} {sec:7.2f}s")
        print(f"  {'(sum of models)':36} {in_models:7.2f}s")
        phases = {p: statistics.median(r.phases[p] for r in runs if r.phases and p in r.phases)
                  for p in (runs[-1].phases or {}) if not p.startswith("serving: ")}
        for phase, sec in phases.items():
            print(f"  {'(' + phase + ')':36} {sec:7.2f}s")
        print(f"  {'(rest of the wall time: start-up,':36} {contenders[name].median() - in_models - sum(phases.values()):7.2f}s"
              "   imports, checks, close)")
        said = {m: v for m, v in (runs[-1].messages or {}).items() if v}
        if said:
            print("  last round's models said: " + "; ".join(f"{m}: {v}" for m, v in said.items()))
        serving = [p for r in runs for p in (r.phases or {}) if p.startswith("serving: ")]
        if serving:
            print("  serving file made by: " + ", ".join(p.removeprefix("serving: ") for p in serving))

    ok = True
    diffs = {}
    for name, path in (("build", bench.build_db), ("build_skip_checks", bench.build_nc_db),
                       ("build_core", bench.core_db), ("incremental", bench.scratch / "incremental.duckdb")):
        if name in contenders and "reference" in contenders:
            print(f"\n-- {name} vs reference --")
            diffs[name] = compare(path, bench.ref_db)
            ok &= diffs[name]["milestone_status_differing_rows"] == 0
    if "incremental" in contenders and "build_skip_checks" in contenders:
        print("\n-- incremental vs build_skip_checks (a full build of the same data), every output --")
        diffs["incremental_vs_full"] = compare_outputs(bench.scratch / "incremental.duckdb", bench.build_nc_db)
        print("-- the incremental build's serving file vs the full build --")
        diffs["incremental_serving_vs_full"] = compare_outputs(bench.scratch / "incremental_serving.duckdb",
                                                               bench.build_nc_db)
        ok &= not any(diffs["incremental_vs_full"].values()) and not any(diffs["incremental_serving_vs_full"].values())
    for store in stores:
        print(f"\n-- {store.name} vs reference --")
        for name in store.built:
            diffs[name] = store.compare(name, bench.ref_db)
            ok &= diffs[name]["milestone_status_differing_rows"] == 0
        store.close()
    warehouses.print_side_by_side(contenders, diffs)
    result = {
        "events": args.events, "rounds": args.rounds, "memory_limit": args.memory_limit,
        "contenders": {c.name: {"wall": [round(r.wall, 3) for r in c.runs],
                                "in_process": [r.inner for r in c.runs],
                                "rss_mb": [round(r.rss_mb, 1) for r in c.runs],
                                "tree_mb": [round(r.tree_mb, 1) for r in c.runs],
                                "tree_hwm_mb": [round(r.tree_hwm_mb, 1) for r in c.runs],
                                "server_private_mb": [r.watched_mb and round(r.watched_mb, 1) for r in c.runs],
                                "engine": [r.engine for r in c.runs], "load": [r.load for r in c.runs],
                                "cpu": [round(r.cpu, 3) if r.cpu is not None else None for r in c.runs],
                                "check_seconds": [r.check_seconds for r in c.runs],
                                "models": [r.models for r in c.runs] if c.runs[0].models else None,
                                "phases": [r.phases for r in c.runs] if c.runs[0].phases else None,
                                "messages": c.runs[-1].messages,
                                "median_wall": round(c.median(), 3), "peak_rss_mb": round(c.peak_rss(), 1)}
                       for c in contenders.values()},
        "ratios_wall": {k: round(v, 3) for k, v in ratios.items()},
        "ratios_in_process": {k: round(v, 3) for k, v in inner_ratios.items()},
        "equality": diffs,
    }
    if not args.keep:
        for path in (bench.build_db, bench.build_nc_db, bench.core_db, bench.ref_db, bench.scratch / "incremental.duckdb"):
            remove_db(path)
    return result, ok


# -- equality with the reference --------------------------------------------------------------------
def compare_outputs(db: Path, other_db: Path) -> dict[str, int]:
    """Rows of each output table in one build and not the other (EXCEPT ALL, both ways)."""
    import duckdb

    sys.path.insert(0, str(HERE.parent))
    from clg_metrics.compiler.outputs import OUTPUT_NAMES

    con = duckdb.connect(str(db), read_only=True)
    con.execute(f"ATTACH '{str(other_db).replace(chr(39), chr(39) * 2)}' AS other (READ_ONLY)")
    differing = {}
    for table in OUTPUT_NAMES:
        mine, theirs = f'main."{table}"', f'other.main."{table}"'
        differing[table] = sum(con.execute(f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})")
                               .fetchone()[0] for a, b in ((mine, theirs), (theirs, mine)))
    con.close()
    print("rows differing: " + ", ".join(f"{t} {n:,}" for t, n in differing.items()))
    return differing


def compare(build_db: Path, ref_db: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(build_db), read_only=True)
    con.execute("SET enable_progress_bar = false")
    con.execute(f"ATTACH '{str(ref_db).replace(chr(39), chr(39) * 2)}' AS ref (READ_ONLY)")
    n_build = con.execute("SELECT count(*) FROM main.milestone_status").fetchone()[0]
    n_ref = con.execute("SELECT count(*) FROM ref.main.milestone_status").fetchone()[0]
    differs = " OR ".join(f"b.{c} IS DISTINCT FROM r.{c}" for c in STATUS_COLUMNS)
    diff_sql = f"""
        SELECT b.*, r.*
        FROM main.milestone_status b
        FULL OUTER JOIN ref.main.milestone_status r
          ON b.journey = r.journey AND b.customer_id = r.customer_id AND b.milestone_index = r.milestone_index
        WHERE {differs}"""
    n_diff = con.execute(f"SELECT count(*) FROM ({diff_sql})").fetchone()[0]
    # the same by multiset difference, in case the key is not unique on one side
    cols = ", ".join(STATUS_COLUMNS)
    mine, theirs = "main.milestone_status", "ref.main.milestone_status"
    only_build = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {mine} EXCEPT ALL "
                             f"SELECT {cols} FROM {theirs})").fetchone()[0]
    only_ref = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {theirs} EXCEPT ALL "
                           f"SELECT {cols} FROM {mine})").fetchone()[0]
    print(f"\nmilestone_status: build {n_build:,} rows, reference {n_ref:,} rows; "
          f"differing rows (by journey, customer_id, milestone_index): {n_diff:,}; "
          f"only in build {only_build:,}, only in reference {only_ref:,} (EXCEPT ALL)")
    if n_diff:
        for row in con.execute(f"{diff_sql} ORDER BY coalesce(b.customer_id, r.customer_id), "
                               "coalesce(b.milestone_index, r.milestone_index) LIMIT 5").fetchall():
            print("  build", row[:9], "\n  ref  ", row[9:])
        by = con.execute(f"SELECT coalesce(b.milestone_index, r.milestone_index) AS i, count(*) "
                         f"FROM main.milestone_status b FULL OUTER JOIN ref.main.milestone_status r "
                         f"ON b.journey = r.journey AND b.customer_id = r.customer_id "
                         f"AND b.milestone_index = r.milestone_index WHERE {differs} GROUP BY ALL ORDER BY 1").fetchall()
        print("  differing rows by milestone_index: " + ", ".join(f"{i}: {n:,}" for i, n in by))
    f_cols = ["customers_reached", "pct_of_first", "pct_of_previous", "dropped_from_previous",
              "median_days_from_previous"]
    funnel = con.execute(f"""
        SELECT b.milestone_index, {', '.join(f'b.{c}, r.{c}' for c in f_cols)}
        FROM main.funnel b JOIN ref.main.funnel r USING (journey, milestone_index)
        WHERE {' OR '.join(f'b.{c} IS DISTINCT FROM r.{c}' for c in f_cols)} ORDER BY 1""").fetchall()
    n_funnel = con.execute("SELECT count(*) FROM main.funnel").fetchone()[0]
    print(f"funnel: {n_funnel} rows, {len(funnel)} differing from the reference"
          + (" (the reference rounds half-even on binary values, SPEC half away from zero on exact ones):"
             if funnel else ""))
    for row in funnel:
        print("  ", row)
    con.close()
    return {"milestone_status_rows": n_build, "reference_rows": n_ref, "milestone_status_differing_rows": n_diff,
            "only_in_build": only_build, "only_in_reference": only_ref, "funnel_differing_rows": len(funnel)}


# -- CLI start-up on a 20-milestone journey ---------------------------------------------------------
JOURNEY_20 = """\
# Generated by bench/run.py: 20 milestones using every kind of condition (CLI timing only).
journey: twenty_steps
description: A long journey for timing validate and compile
events:
  from: stg_events
customers:
  from: main.customers
order: sequential
phases:
  - phase: discover
    milestones:
      - milestone: m01_visit
        reached_when: {event: page_view}
      - milestone: m02_trial
        reached_when: {event: trial_started}
      - milestone: m03_first_value
        reached_when: {all: [{event: search, at_least: 5}, {event: list_created}]}
      - milestone: m04_realization
        reached_when:
          all:
            - {event: search, at_least: 10}
            - {event: list_created, at_least: 2}
            - {event: export, at_least: 2, where: {format: csv}}
      - milestone: m05_monthly_value
        reached_when:
          per: month
          all: [{event: search, at_least: 10}, {event: list_created, at_least: 2}, {event: export, at_least: 2}]
  - phase: engage
    milestones:
      - milestone: m06_habit
        reached_when: {per: week, streak: 4, event: login, at_least: 3}
      - milestone: m07_growth
        reached_when:
          all: [{milestone: m05_monthly_value}, {any: [{event: upgrade}, {event: review}, {event: referral}]}]
        within: {days: 90, of: signup}
      - milestone: m08_support
        reached_when: {event: support_ticket, where: "event_id % 2 = 0 AND format <> 'pdf'"}
      - milestone: m09_formats
        reached_when: {event: export, distinct: format, at_least: 2}
      - milestone: m10_busy_day
        reached_when: {per: day, event: search, at_least: 3}
      - milestone: m11_quick_export
        reached_when: {event: export}
        within: {days: 30, of: previous}
      - milestone: m12_sheets
        reached_when: {event: export, at_least: 3, where: {format: {in: [csv, xlsx]}}}
      - milestone: m13_power
        reached_when: {any: [{event: login, at_least: 20}, {event: search, at_least: 50}]}
  - phase: expand
    milestones:
      - milestone: m14_weekly_search
        reached_when:
          per: week
          streak: 2
          all: [{event: search, at_least: 2}, {event: login}]
      - milestone: m15_advocate
        reached_when: {all: [{milestone: m13_power}, {event: review}]}
      - milestone: m16_late_export
        reached_when: {event: export, where: {event_id: {gte: 100}}}
      - milestone: m17_monthly_logins
        reached_when: {per: month, streak: 3, event: login, at_least: 4}
      - milestone: m18_upgrade
        reached_when: {event: upgrade}
        within: {hours: 8760, of: signup}
      - milestone: m19_word_of_mouth
        reached_when: {event: [review, referral], at_least: 2}
      - milestone: m20_devoted
        reached_when: {all: [{milestone: m01_visit}, {event: page_view, at_least: 100}]}
"""


def bench_cli(args, scratch: Path) -> tuple[dict, bool]:
    project = scratch / "cli_project"
    shutil.rmtree(project, ignore_errors=True)
    (project / "milestones").mkdir(parents=True)
    (project / "sql").mkdir()
    shutil.copyfile(PROJECT / "sql" / "stg_events.sql", project / "sql" / "stg_events.sql")
    (project / "clg_project.yml").write_text("name: cli_bench\nvars:\n  as_of: \"2025-01-01 00:00:00\"\n")
    (project / "milestones" / "twenty_steps.yml").write_text(JOURNEY_20)
    clg = clg_command()
    commands = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "clg-metrics --help": clg + ["--help"],
        "clg-metrics validate": clg + ["validate", "--project-dir", str(project)],
        "clg-metrics compile": clg + ["compile", "--project-dir", str(project)],
    }
    print(f"\n== CLI on a generated 20-milestone journey ({project}), median of {args.cli_rounds} ==")
    results, ok = {}, True
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    for _ in range(args.cli_rounds):  # interleaved, like the build rounds
        for name, cmd in commands.items():
            runs[name].append(run_child(cmd, cwd=project))
    for name, rs in runs.items():
        bad = [r for r in rs if r.returncode != 0]
        if bad:
            fail(name, bad[0])
            ok = False
            continue
        walls = [r.wall for r in rs]
        med = statistics.median(walls)
        results[name] = {"median": round(med, 3), "min": round(min(walls), 3), "max": round(max(walls), 3),
                         "rss_mb": round(max(r.rss_mb for r in rs), 1)}
        print(f"{name:28} {med:6.3f}s (min {min(walls):.3f}, max {max(walls):.3f}), "
              f"peak RSS {max(r.rss_mb for r in rs):,.0f} MB   | {(rs[0].stdout.strip().splitlines() or [''])[-1][:70]}")
    return results, ok


def with_declared_key(db: Path) -> Path:
    """A copy of the generated DB whose ``events.event_id`` is a declared PRIMARY KEY (made once)."""
    keyed = db.with_name(db.stem + "_pk.duckdb")
    if not keyed.exists():
        import duckdb

        partial = keyed.with_suffix(".partial")
        shutil.copyfile(db, partial)
        con = duckdb.connect(str(partial))
        con.execute("ALTER TABLE events ADD PRIMARY KEY (event_id)")
        con.close()
        partial.rename(keyed)
    return keyed


def check_reference_copy() -> None:
    """Warn if the vendored reference differs from the shared one it was copied from."""
    if "CLG_BENCH_REFERENCE" in os.environ or not SHARED_REFERENCE.exists():
        return
    for name in ("run_reference.py", "reference.sql"):
        mine, shared = REFERENCE.parent / name, SHARED_REFERENCE.parent / name
        if shared.exists() and mine.exists() and shared.read_bytes() != mine.read_bytes():
            print(f"WARNING: {mine} differs from {shared}; copy it again "
                  "(or set CLG_BENCH_REFERENCE to the shared run_reference.py)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory_limit of the build and the floor")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR, help=f"generated data (default {DEFAULT_DIR})")
    parser.add_argument("--contenders", default=",".join(CONTENDERS), type=lambda v: [x.strip() for x in v.split(",")],
                        help=f"which to time, comma-separated (default all: {','.join(CONTENDERS)})")
    parser.add_argument("--cli-rounds", type=int, default=5)
    parser.add_argument("--skip-build-bench", action="store_true", help="only the CLI timings")
    parser.add_argument("--skip-cli-bench", action="store_true", help="only the build timings")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds after which a contender is killed")
    parser.add_argument("--declared-key", action="store_true",
                        help="events.event_id declared PRIMARY KEY (a copy of the data, made once): the "
                             "uniqueness check is then not scanned")
    parser.add_argument("--engine", default=["duckdb"], type=lambda v: [x.strip() for x in v.split(",")],
                        help="comma-separated, of duckdb,postgres,spark (default duckdb); postgres builds on the "
                             "server of CLG_TEST_PG_*, spark on a local[2] session: run under .ci/with-servers")
    parser.add_argument("--pg-work-mem", help="PostgreSQL: work_mem of the builds' connections (ALTER DATABASE "
                                              "... SET work_mem), e.g. 256MB; default the server's")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch build and reference DBs")
    args = parser.parse_args(argv)
    unknown = set(args.engine) - {"duckdb", *warehouses.ENGINES}
    if unknown:
        parser.error(f"--engine: unknown {', '.join(sorted(unknown))} (choose from duckdb, {', '.join(warehouses.ENGINES)})")

    import duckdb

    print(f"clg-metrics bench: python {sys.version.split()[0]}, duckdb {duckdb.__version__}, "
          f"{os.cpu_count()} CPUs, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    scratch = args.data_dir / f"scratch_{args.events}"
    scratch.mkdir(parents=True, exist_ok=True)
    out: dict = {}
    ok = True
    if not args.skip_build_bench:
        if not REFERENCE.exists():
            sys.exit(f"{REFERENCE}: not found (set CLG_BENCH_REFERENCE)")
        check_reference_copy()
        db = generate.paths(args.data_dir, args.events)["db"]
        if not db.exists():
            print(f"generating {db} ...")
            generate.generate(args.events, args.data_dir, parquet=False)
        if args.declared_key:
            db = with_declared_key(db)
        result, ok_build = bench_build(args, db, scratch)
        out["build"] = result
        ok &= ok_build
    if not args.skip_cli_bench:
        result, ok_cli = bench_cli(args, scratch)
        out["cli"] = result
        ok &= ok_cli
    out["load_average_after"] = os.getloadavg()
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
          "(other processes on the machine skew absolute times; compare ratios)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
