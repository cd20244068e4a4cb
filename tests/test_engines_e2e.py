"""The demo project built by the CLI on PostgreSQL and on Spark equals the DuckDB build row for row.

This is the user's path end to end: a profiles.yml target, seeds loaded into the engine, the
sql/ models transpiled, journeys compiled, checks run (built-in and great-expectations), outputs
published; then a second build (incremental where the engine supports it) and `show`.
"""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import duckdb
import pytest

from conftest import cli, copy_demo
from engines import drop_schema, normalized, postgres_target, spark_target

from clg_metrics.compiler import OUTPUT_NAMES

# every output table: SPEC §3, the §4 analysis tables over the demo's segments, §5's job tables
OUTPUTS = OUTPUT_NAMES
# The first build's check outcomes: the same checks find the same number of bad rows everywhere
DQ_QUERY = ('SELECT check_name, status, unexpected_count FROM "dq_results" '
            'WHERE run_id = (SELECT MIN(run_id) FROM "dq_results") ORDER BY check_name')


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = copy_demo(tmp_path_factory.mktemp("e2e") / "demo")
    # Every 4th visitor: the journey's every path still occurs, and Spark's per-statement cost,
    # not the data, stays what the test spends its time on.
    for seed in ("raw_events.csv", "raw_customers.csv"):
        path = root / "seeds" / seed
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(r for r in rows if int(r["user_id"]) % 4 == 0)
    return root


@pytest.fixture(scope="module")
def duckdb_outputs(demo) -> dict[str, list[dict]]:
    (demo / "profiles.yml").write_text("clg_metrics:\n  outputs:\n    dev: {type: duckdb, path: target/e2e.duckdb}\n")
    code, output = cli("build", project_dir=demo)
    assert code == 0, output
    con = duckdb.connect(str(demo / "target" / "e2e.duckdb"), read_only=True)
    try:
        outputs = {t: _rows(*_fetch_duckdb(con, t)) for t in OUTPUTS}
        outputs["dq_results"] = con.execute(DQ_QUERY).fetchall()
        return outputs
    finally:
        con.close()


def _fetch_duckdb(con, table):
    cursor = con.execute(f'SELECT * FROM "{table}"')
    return [d[0] for d in cursor.description], cursor.fetchall()


def _rows(columns, rows):
    return [dict(zip(columns, r)) for r in rows]


def _profile(target) -> str:
    fields = target.model_dump(by_alias=True, exclude_none=True)
    body = ", ".join(f"{k}: {_yaml(v)}" for k, v in fields.items())
    return f"clg_metrics:\n  outputs:\n    dev: {{type: duckdb, path: target/e2e.duckdb}}\n    wh: {{{body}}}\n"


def _yaml(value):
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    return f'"{value}"' if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("engine_name", ["postgres", "spark"])
def test_demo_build_equals_duckdb_row_for_row(demo, duckdb_outputs, engine_name, tmp_path, request):
    from clg_metrics.engines import connect

    if engine_name == "spark":
        # The CLI's engines reuse a session already running in the process (as a notebook's would);
        # otherwise each of the three commands below starts and stops a JVM of its own.
        request.getfixturevalue("spark_engine")

    schema = f"clg_e2e_{uuid.uuid4().hex[:8]}"
    target = postgres_target(schema) if engine_name == "postgres" else spark_target(schema, tmp_path)
    (demo / "profiles.yml").write_text(_profile(target))
    code, output = cli("build", "--target", "wh", project_dir=demo)
    assert code == 0, output
    engine = connect(target, demo)
    try:
        for table in OUTPUTS:
            actual = _rows(*engine.fetch(f"SELECT * FROM {engine.quote(table)}"))
            assert len(actual) == len(duckdb_outputs[table]), table
            assert normalized(actual) == normalized(duckdb_outputs[table]), f"{engine_name}: {table} differs"
        # the same project again: incremental where the engine has a row hash; equal either way
        code, output = cli("build", "--target", "wh", project_dir=demo)
        assert code == 0, output
        for table in OUTPUTS:
            actual = _rows(*engine.fetch(f"SELECT * FROM {engine.quote(table)}"))
            assert normalized(actual) == normalized(duckdb_outputs[table]), f"{engine_name} rebuild: {table} differs"
        _, dq = engine.fetch(DQ_QUERY.replace('"dq_results"', engine.quote("dq_results")))
        assert [tuple(r) for r in dq] == duckdb_outputs["dq_results"]
        code, output = cli("show", "funnel", "--target", "wh", project_dir=demo)
        assert code == 0 and "first_value" in output, output
    finally:
        drop_schema(engine)


WHERE_EVENTS = """customer_id,event_name,occurred_at,format
1,signup,2024-01-01 10:00:00,
1,export,2024-01-02 10:00:00,csv
2,signup,2024-01-03 10:00:00,
2,export,2024-01-04 10:00:00,pdf
3,signup,2024-01-05 10:00:00,
3,export,2024-01-06 10:00:00,CSV
"""
WHERE_JOURNEY = """journey: exports
events: {from: events}
phases:
  - phase: p
    milestones:
      - milestone: signed_up
        reached_when: {event: signup}
      - milestone: exported_csv
        # DuckDB syntax (the project's sql_dialect): regexp_matches is DuckDB's; read as PostgreSQL or
        # Spark SQL it is an unknown function, so the string must be parsed as DuckDB on every target
        reached_when: {event: export, where: "regexp_matches(format, '^c')"}
"""


@pytest.mark.parametrize("engine_name", ["postgres", "spark"])
def test_where_strings_mean_the_same_on_every_target(engine_name, tmp_path, request):
    """A `where` string is written in the project's sql_dialect (DuckDB here) and builds on every target."""
    from clg_metrics.engines import connect

    if engine_name == "spark":
        request.getfixturevalue("spark_engine")
    root = tmp_path / "proj"
    (root / "milestones").mkdir(parents=True)
    (root / "seeds").mkdir()
    (root / "seeds" / "events.csv").write_text(WHERE_EVENTS)
    (root / "milestones" / "exports.yml").write_text(WHERE_JOURNEY)
    (root / "clg_project.yml").write_text('vars: {as_of: "2024-02-01"}\nsql_dialect: duckdb\n')
    schema = f"clg_where_{uuid.uuid4().hex[:8]}"
    target = postgres_target(schema) if engine_name == "postgres" else spark_target(schema, tmp_path)
    (root / "profiles.yml").write_text(_profile(target))
    for name in ("dev", "wh"):
        code, output = cli("build", "--target", name, project_dir=root)
        assert code == 0, f"{name}:\n{output}"
    expected = duckdb.connect(str(root / "target" / "e2e.duckdb"), read_only=True)
    try:
        duck = _rows(*_fetch_duckdb(expected, "funnel"))
    finally:
        expected.close()
    engine = connect(target, root)
    try:
        from sqlglot import exp

        actual = _rows(*engine.fetch(exp.select("*").from_(exp.table_("funnel", db=engine.schema, quoted=True))))
        # customer 1 exports csv; 2 pdf; 3 `CSV` (regexp_matches is case-sensitive)
        assert sorted(r["customers_reached"] for r in duck) == [1, 3]
        assert normalized(actual) == normalized(duck)
    finally:
        drop_schema(engine)
