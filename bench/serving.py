#!/usr/bin/env python3
"""Publishing to readers: the three DuckDB designs of issue 10, timed on one built warehouse.

usage: serving.py WAREHOUSE.duckdb [--rounds 5]

WAREHOUSE is a DuckDB file after `clg-metrics build` (it holds the outputs). Times, median of
--rounds, each into a fresh scratch directory:
- serving: what the build does now (engines/duckdb_serving.py): ATTACH a new file, CREATE TABLE AS
  each served table, DETACH, fsync, rename over the serving file;
- parquet: one Parquet file per served table in a per-build folder, plus a small DuckDB file of
  views over them (what BI would open), renamed in;
- copy: a plain file copy of the warehouse (what the issue forbids doing every hour: the warehouse
  holds the raw events), for scale;
- delta (--touched F): what an incremental build does since issue 14 — a filesystem copy of the
  serving file just written, with the per-customer tables' deltas for a fraction F of the
  customers (DELETE their rows, INSERT them again) and every other table copied again, as when
  as_of moved (customer_progress and win_back count from it); delta_same_as_of: the same with
  as_of standing still (all four per-customer tables as deltas, the aggregates copied again);
- chain: --chain N such delta builds in a row on one serving file, its size after each (deltas
  leave free blocks, which DuckDB reuses but never gives back).
Also prints the sizes: warehouse, serving file, Parquet folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clg_metrics.builds import BUILDS_TABLE  # noqa: E402
from clg_metrics.checks.results import DQ_TABLE  # noqa: E402
from clg_metrics.compiler.outputs import OUTPUT_NAMES  # noqa: E402
from clg_metrics.compiler.outputs import OUTPUTS_BY_NAME  # noqa: E402
from clg_metrics.deltas import TableDelta, replaced_rows  # noqa: E402
from clg_metrics.engines.base import Served  # noqa: E402
from clg_metrics.engines.duckdb_serving import write_serving  # noqa: E402
from sqlglot import exp  # noqa: E402

PER_CUSTOMER = [t.name for t in OUTPUTS_BY_NAME.values() if t.per_customer is not None]


def served(con) -> list[str]:
    tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    return [t for t in OUTPUT_NAMES + (DQ_TABLE, BUILDS_TABLE) if t in tables]


def parquet_publish(con, tables: list[str], out: Path, build_id: str) -> None:
    folder = out / "builds" / build_id
    folder.mkdir(parents=True)
    for name in tables:
        con.execute(f"COPY main.\"{name}\" TO '{folder / name}.parquet' (FORMAT parquet)")  # bench only
    fresh = out / f".views.{build_id}.tmp"
    views = duckdb.connect(str(fresh))
    for name in tables:
        views.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{folder / name}.parquet')")
    views.close()
    os.replace(fresh, out / "views.duckdb")


def stage_deltas(con, fraction: float, seed: int) -> dict[str, TableDelta]:
    """Deltas of the per-customer tables for a sample of the customers: their rows, as staged."""
    con.execute("DROP TABLE IF EXISTS main.__bench_touched")
    con.execute(f"CREATE TABLE main.__bench_touched AS SELECT DISTINCT journey, customer_id FROM main.customer_progress "
                f"USING SAMPLE {fraction * 100}% (bernoulli, {seed})")  # bench only
    journeys = [j for (j,) in con.execute("SELECT DISTINCT journey FROM main.customer_progress").fetchall()]
    touched = {}
    for journey in journeys:
        con.execute(f'DROP TABLE IF EXISTS main."__bench_t_{journey}"')
        con.execute(f'CREATE TABLE main."__bench_t_{journey}" AS SELECT customer_id FROM main.__bench_touched '
                    f"WHERE journey = '{journey}'")
        touched[journey] = exp.table_(f"__bench_t_{journey}", db="main", quoted=True)
    replaced = replaced_rows(journeys, [], touched)
    deltas = {}
    for name in PER_CUSTOMER:
        rows = f"__bench_d_{name}"
        con.execute(f'CREATE OR REPLACE TABLE main."{rows}" AS SELECT * FROM main."{name}" t '
                    f"WHERE EXISTS (SELECT 1 FROM main.__bench_touched x WHERE x.journey = t.journey "
                    f"AND x.customer_id = t.customer_id)")
        columns = tuple(c for (c,) in con.execute(f"SELECT column_name FROM information_schema.columns WHERE "
                                                  f"table_name = '{name}' ORDER BY ordinal_position").fetchall())
        deltas[name] = TableDelta(name, columns, exp.table_(rows, db="main", quoted=True), replaced, "unused")
    return deltas


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--touched", type=float, default=0.01, help="the delta's share of the customers")
    parser.add_argument("--chain", type=int, default=0, help="delta builds in a row on one serving file")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"serving": [], "parquet": [], "copy": [], "delta": [], "delta_same_as_of": []}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="clg-serving-bench-") as tmp:
        scratch = Path(tmp) / "warehouse.duckdb"  # a copy: the serving file is ATTACHed read-write
        shutil.copyfile(args.warehouse, scratch)
        con = duckdb.connect(str(scratch))
        tables = served(con)
        rows = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        for round_ in range(args.rounds):
            out = Path(tmp) / f"r{round_}"
            out.mkdir()
            started = time.perf_counter()
            write_serving(con, "main", tables, out / "serving.duckdb", f"b{round_}")
            times["serving"].append(time.perf_counter() - started)
            started = time.perf_counter()
            parquet_publish(con, tables, out, f"b{round_}")
            times["parquet"].append(time.perf_counter() - started)
            started = time.perf_counter()
            shutil.copyfile(args.warehouse, out / "copy.duckdb")
            times["copy"].append(time.perf_counter() - started)
            deltas = stage_deltas(con, args.touched, round_)
            current = con.execute("SELECT max(build_id) FROM main.clg_builds").fetchone()[0]
            for name, as_of_moved in (("delta", True), ("delta_same_as_of", False)):
                copy = out / f"{name}.duckdb"
                shutil.copyfile(out / "serving.duckdb", copy)
                moving = {"customer_progress", "win_back"} if as_of_moved else set()
                changes = Served(current, set(tables) - set(PER_CUSTOMER) | moving,
                                 [d for n, d in deltas.items() if n not in moving and n in tables])
                started = time.perf_counter()
                how = write_serving(con, "main", tables, copy, f"b{round_}{name}", changes)
                times[name].append(time.perf_counter() - started)
                assert how == "copy", how
            sizes = {"warehouse": size(args.warehouse), "serving": size(out / "serving.duckdb"),
                     "parquet": size(out / "builds")}
            shutil.rmtree(out)
        con.close()
    print(f"served tables (rows): {rows}")
    for name, values in times.items():
        print(f"{name:8} median {statistics.median(values):.3f} s  min {min(values):.3f}  max {max(values):.3f}")
    print("sizes: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.items()))
    if args.chain:
        chain(args, tables)


def chain(args, tables: list[str]) -> None:
    """--chain delta builds in a row on one serving file: time and size after each."""
    with tempfile.TemporaryDirectory(prefix="clg-serving-chain-") as tmp:
        scratch = Path(tmp) / "warehouse.duckdb"
        shutil.copyfile(args.warehouse, scratch)
        con = duckdb.connect(str(scratch))
        file = Path(tmp) / "serving.duckdb"
        write_serving(con, "main", tables, file, "b0")
        line = []
        for step in range(1, args.chain + 1):
            deltas = stage_deltas(con, args.touched, step)
            # each build's clg_builds has another newest build id, as a real build's has
            previous = con.execute("SELECT max(build_id) FROM main.clg_builds").fetchone()[0]
            con.execute(f"UPDATE main.clg_builds SET build_id = build_id || '.{step}' WHERE build_id = '{previous}'")
            moving = {"customer_progress", "win_back"}
            changes = Served(previous, set(tables) - set(PER_CUSTOMER) | moving,
                             [d for n, d in deltas.items() if n not in moving and n in tables])
            started = time.perf_counter()
            how = write_serving(con, "main", tables, file, f"b{step}", changes)
            line.append(f"{step}: {time.perf_counter() - started:.2f} s {how} {file.stat().st_size / 1e6:.1f} MB")
        con.close()
    print("chain: " + "; ".join(line))


if __name__ == "__main__":
    main()
