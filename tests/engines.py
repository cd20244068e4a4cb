"""The warehouses the semantic suite runs on, and how a test reaches them.

DuckDB is always there. PostgreSQL and Spark are real servers started by ``.ci/with-servers``
(the README's test command), which exports ``CLG_TEST_PG_*`` and ``CLG_REQUIRE_ENGINES=1``.
Without that harness a test that needs a server is skipped with the reason; with it, a missing
server is a failure, so CI cannot pass by skipping.
"""

from __future__ import annotations

import math
import os
import shutil
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from clg_metrics.compiler import OUTPUT_NAMES

ENGINES = ("duckdb", "postgres", "spark")
REQUIRED = os.environ.get("CLG_REQUIRE_ENGINES") == "1"


def unavailable(reason: str):
    """Skip outside the CI harness; fail inside it."""
    if REQUIRED:
        pytest.fail(f"{reason} (CLG_REQUIRE_ENGINES=1: the harness promised this engine)", pytrace=False)
    pytest.skip(f"{reason}; run the tests through .ci/with-servers (see README)")


def postgres_target(schema: str):
    from clg_metrics.profiles import PostgresTarget

    names = ("CLG_TEST_PG_HOST", "CLG_TEST_PG_PORT", "CLG_TEST_PG_USER", "CLG_TEST_PG_DBNAME")
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        unavailable(f"PostgreSQL not available ({', '.join(missing)} not set)")
    return PostgresTarget(type="postgres", host=os.environ["CLG_TEST_PG_HOST"], port=int(os.environ["CLG_TEST_PG_PORT"]),
                          user=os.environ["CLG_TEST_PG_USER"], dbname=os.environ["CLG_TEST_PG_DBNAME"],
                          schema=schema, sslmode="disable")


def spark_target(database: str, warehouse: Path, conf: dict | None = None):
    from clg_metrics.profiles import SparkTarget

    try:
        import pyspark  # noqa: F401
    except ImportError:
        unavailable("Spark not available (pyspark is not installed)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        unavailable("Spark not available (no Java: install openjdk-17-jre-headless)")
    base = Path(os.environ.get("CLG_TEST_SPARK_WAREHOUSE") or warehouse)
    return SparkTarget(type="spark", master="local[2]", database=database, warehouse_dir=str(base / "warehouse"),
                       spark_conf={"spark.sql.shuffle.partitions": 2, "spark.default.parallelism": 2, **(conf or {})})


def connect_engine(name: str, tmp_dir: Path):
    """A fresh schema (database) on engine ``name``; dropped by the caller with ``drop_schema``."""
    from clg_metrics.engines import connect
    from clg_metrics.errors import EngineError

    schema = f"clg_test_{uuid.uuid4().hex[:10]}"
    if name == "postgres":
        target = postgres_target(schema)
    elif name == "spark":
        # The semantic suite needs no catalog that outlives the process: the in-memory one starts
        # in seconds where Derby's metastore takes a minute (the CLI's end-to-end test keeps Hive).
        target = spark_target(schema, tmp_dir, {"spark.sql.catalogImplementation": "in-memory"})
    else:
        raise ValueError(name)
    try:
        return connect(target, tmp_dir)
    except EngineError as exc:
        unavailable(f"{name} not reachable: {exc}")


def drop_schema(engine) -> None:
    from sqlglot import exp

    name = exp.to_identifier(engine.schema, quoted=True).sql(engine.dialect)
    kind = "DATABASE" if engine.dialect == "spark" else "SCHEMA"
    try:
        engine.execute(f"DROP {kind} IF EXISTS {name} CASCADE")
    finally:
        engine.close()


def normalized(rows: list[dict]) -> list[tuple]:
    """Rows as comparable tuples: engines return integral NUMERICs as Decimal, DuckDB as int."""
    def value(v):
        if isinstance(v, Decimal):
            return int(v) if v == v.to_integral_value() else float(v)
        if isinstance(v, float) and v == 0 and math.copysign(1.0, v) < 0:
            return "-0.0"  # equal to 0.0 in Python, but a reader sees the sign: never equal here
        return v

    return sorted((tuple((k, value(v)) for k, v in sorted(row.items())) for row in rows), key=repr)


# -- the demo build compared across engines (test_engines_e2e, test_spark_cluster) -------------

# every output table: SPEC §3, the §4 analysis tables over the demo's segments, §5's job tables
OUTPUTS = OUTPUT_NAMES
# The first build's check outcomes: the same checks find the same number of bad rows everywhere
DQ_QUERY = ('SELECT check_name, status, unexpected_count FROM "dq_results" '
            'WHERE run_id = (SELECT MIN(run_id) FROM "dq_results") ORDER BY check_name')


def fetch_duckdb(con, table: str):
    cursor = con.execute(f'SELECT * FROM "{table}"')
    return [d[0] for d in cursor.description], cursor.fetchall()


def rows(columns, values) -> list[dict]:
    return [dict(zip(columns, r)) for r in values]


def profile_yaml(target) -> str:
    """profiles.yml with the DuckDB target `dev` (the reference build) and ``target`` as `wh`."""
    fields = target.model_dump(by_alias=True, exclude_none=True)
    body = ", ".join(f"{k}: {_yaml(v)}" for k, v in fields.items())
    return f"clg_metrics:\n  outputs:\n    dev: {{type: duckdb, path: target/e2e.duckdb}}\n    wh: {{{body}}}\n"


def _yaml(value):
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    return f'"{value}"' if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
