"""``run.py --engine spark``: the same bench project built on a local Spark (issue 14, item 4).

The warehouse is a folder per size, ``DIR/spark_N`` (Parquet tables and the Derby metastore a
local clg-metrics session keeps there, ``_clg_metastore``). The generated Parquet files
(``generate.py``) are written once into its database ``main`` as managed tables ``events`` and
``customers`` (not timed); each round then builds into a fresh database (``bench/project/
profiles.yml``, target ``spark``, local[2], driver memory 2g). ``warehouses.py`` runs the rounds.

Loading and dropping run in a child process (``python bench/spark.py load|drop ...``) through
clg-metrics' own Spark engine, so the session has the profile's settings and metastore, and its
JVM (and Derby's lock) is gone before a build starts; the bench process never starts a JVM. The
rows are read back from the tables' Parquet files with DuckDB, with no JVM either.

Memory: the build's process tree, i.e. the clg-metrics process, the JVM it launches and the JVM's
Python workers (``measure.py`` samples them).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
from warehouses import Warehouse  # noqa: E402

PROFILES = HERE / "project" / "profiles.yml"


class Spark(Warehouse):
    name, target = "spark", "spark"

    def __init__(self, args, db: Path, scratch: Path):
        super().__init__(args, db, scratch)
        self.warehouse = args.data_dir / f"spark_{args.events}"

    def _child(self, *argv: str) -> None:
        done = subprocess.run([sys.executable, __file__, *argv, "--warehouse", str(self.warehouse)], check=False)
        if done.returncode != 0:
            sys.exit(f"bench/spark.py {argv[0]} failed (exit {done.returncode})")

    def load(self) -> None:
        files = generate.generate(self.args.events, self.args.data_dir, parquet=True, quiet=True)
        self._child("load", str(files["events_parquet"]), str(files["customers_parquet"]))

    def fresh(self, namespace: str) -> dict[str, str]:
        # a name no earlier round used (dropped at the end): no JVM start between rounds
        return {"CLG_BENCH_SPARK_WAREHOUSE": str(self.warehouse), "CLG_BENCH_SPARK_DATABASE": namespace}

    def rows(self, namespace: str, table: str, columns: list[str]) -> list[tuple]:
        import duckdb

        files = self.warehouse / f"{namespace}.db" / table
        con = duckdb.connect()
        rows = con.execute(f"SELECT {', '.join(columns)} FROM read_parquet(?)", [str(files / "*.parquet")]).fetchall()
        con.close()
        return rows

    def close(self) -> None:
        if self.built:
            self._child("drop", *sorted(set(self.built.values())))


def _engine(warehouse: Path, database: str):
    """clg-metrics' Spark engine on the bench profile's target, for ``database`` of ``warehouse``."""
    sys.path.insert(0, str(HERE.parent))
    from clg_metrics.engines import connect
    from clg_metrics.profiles import load_target

    os.environ.update(CLG_BENCH_SPARK_WAREHOUSE=str(warehouse), CLG_BENCH_SPARK_DATABASE=database)
    _, target = load_target(PROFILES, "clg_bench", "spark")
    return connect(target, PROFILES.parent)


def main() -> None:
    parser = argparse.ArgumentParser(description="load the bench data into a Spark warehouse, or drop databases")
    parser.add_argument("action", choices=("load", "drop"))
    parser.add_argument("names", nargs="*", help="load: EVENTS.parquet CUSTOMERS.parquet; drop: databases")
    parser.add_argument("--warehouse", type=Path, required=True)
    args = parser.parse_args()
    from sqlglot import exp

    engine = _engine(args.warehouse, "main")
    try:
        if args.action == "load":
            for table, path in zip(("events", "customers"), args.names):
                source = engine.spark.read.parquet(path)
                if engine.columns(table) is not None and engine.spark.table(f"main.{table}").count() == source.count():
                    continue
                engine.drop_relation(table)
                print(f"  spark: main.{table} <- {path}: {engine._write(source, table):,} rows", flush=True)
        else:
            for name in args.names:
                # (sqlglot writes exp.Drop of a DATABASE without its name: the identifier alone is a tree)
                engine.spark.sql(f"DROP DATABASE IF EXISTS {exp.to_identifier(name, quoted=True).sql('spark')} CASCADE")
    finally:
        engine.close()


if __name__ == "__main__":
    main()
