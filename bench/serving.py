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
  holds the raw events), for scale.
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
from clg_metrics.engines.duckdb_serving import write_serving  # noqa: E402


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


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"serving": [], "parquet": [], "copy": []}
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
            sizes = {"warehouse": size(args.warehouse), "serving": size(out / "serving.duckdb"),
                     "parquet": size(out / "builds")}
            shutil.rmtree(out)
        con.close()
    print(f"served tables (rows): {rows}")
    for name, values in times.items():
        print(f"{name:8} median {statistics.median(values):.3f} s  min {min(values):.3f}  max {max(values):.3f}")
    print("sizes: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.items()))


if __name__ == "__main__":
    main()
