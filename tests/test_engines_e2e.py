"""The demo project built by the CLI on PostgreSQL and on Spark equals the DuckDB build row for row.

This is the user's path end to end: a profiles.yml target, seeds loaded into the engine, the
sql/ models transpiled, journeys compiled, checks run (built-in and great-expectations), outputs
published; then a second build (incremental where the engine supports it) and `show`.
"""

from __future__ import annotations

import uuid

import duckdb
import pytest

from conftest import cli
from engines import DQ_QUERY, OUTPUTS, drop_schema, fetch_duckdb, normalized, postgres_target, profile_yaml, rows, \
    spark_target


@pytest.mark.parametrize("engine_name", ["postgres", "spark"])
def test_demo_build_equals_duckdb_row_for_row(demo, duckdb_outputs, engine_name, tmp_path, request):
    from clg_metrics.engines import connect

    if engine_name == "spark":
        # The CLI's engines reuse a session already running in the process (as a notebook's would);
        # otherwise each of the three commands below starts and stops a JVM of its own.
        request.getfixturevalue("spark_engine")

    schema = f"clg_e2e_{uuid.uuid4().hex[:8]}"
    target = postgres_target(schema) if engine_name == "postgres" else spark_target(schema, tmp_path)
    (demo / "profiles.yml").write_text(profile_yaml(target))
    code, output = cli("build", "--target", "wh", project_dir=demo)
    assert code == 0, output
    engine = connect(target, demo)
    try:
        for table in OUTPUTS:
            actual = rows(*engine.fetch(f"SELECT * FROM {engine.quote(table)}"))
            assert len(actual) == len(duckdb_outputs[table]), table
            assert normalized(actual) == normalized(duckdb_outputs[table]), f"{engine_name}: {table} differs"
        # the same project again: incremental where the engine has a row hash; equal either way
        code, output = cli("build", "--target", "wh", project_dir=demo)
        assert code == 0, output
        for table in OUTPUTS:
            actual = rows(*engine.fetch(f"SELECT * FROM {engine.quote(table)}"))
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
    (root / "profiles.yml").write_text(profile_yaml(target))
    for name in ("dev", "wh"):
        code, output = cli("build", "--target", name, project_dir=root)
        assert code == 0, f"{name}:\n{output}"
    expected = duckdb.connect(str(root / "target" / "e2e.duckdb"), read_only=True)
    try:
        duck = rows(*fetch_duckdb(expected, "funnel"))
    finally:
        expected.close()
    engine = connect(target, root)
    try:
        from sqlglot import exp

        actual = rows(*engine.fetch(exp.select("*").from_(exp.table_("funnel", db=engine.schema, quoted=True))))
        # customer 1 exports csv; 2 pdf; 3 `CSV` (regexp_matches is case-sensitive)
        assert sorted(r["customers_reached"] for r in duck) == [1, 3]
        assert normalized(actual) == normalized(duck)
    finally:
        drop_schema(engine)
