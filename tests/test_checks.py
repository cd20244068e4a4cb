"""Data-quality checks: the great-expectations workaround on DuckDB, the declared-check catalog
against GX itself, derived and declared checks through real builds, the output invariants, and
``clg-metrics test``.

Builds run the derived checks as SQL and the declared ones through great-expectations (~1-3 s
a build), so each build here asserts several things. Every project has ``seeds/events.csv`` and
the sequential journey ``onboarding`` (signed_up -> searched -> exported) with ``as_of``
2024-03-01; its funnel is 3, 2, 1.
"""

from __future__ import annotations

import gc
import json
import logging
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from clg_metrics.checks.catalog import EXPECTATIONS
from clg_metrics.checks.derive import output_checks
from clg_metrics.engines import connect
from clg_metrics.loader import load_project
from clg_metrics.profiles import DuckDBTarget
from conftest import cli

# great-expectations' SQLAlchemy connections outlive the checks (the xfail test
# test_run_checks_leaves_no_connection_behind). When they are finalized after the DuckDB connection
# closed, SQLAlchemy's pool logs "Exception during reset" with a traceback, at whatever moment the
# collector runs; on CPython 3.11 formatting that traceback calls ast.parse, which can break an
# ast.parse already running ("SystemError: AST constructor recursion depth mismatch" in pytest's
# assertion rewriting, seen when this file ran alone). Until that is fixed, the pool stays quiet.
logging.getLogger("sqlalchemy.pool").setLevel(logging.CRITICAL)

EVENTS_CSV = """\
event_id,customer_id,event_name,occurred_at
1,1,signup,2024-01-01 00:00:00
2,1,search,2024-01-02 00:00:00
3,1,export,2024-01-03 00:00:00
4,2,signup,2024-01-01 00:00:00
5,2,search,2024-01-05 00:00:00
6,3,signup,2024-01-02 00:00:00
"""

CUSTOMERS_CSV = """\
customer_id,signed_up_at,plan
1,2024-01-01 00:00:00,free
2,2024-01-01 00:00:00,pro
3,2024-01-02 00:00:00,free
"""

MILESTONES = """\
phases:
  - phase: start
    milestones:
      - milestone: signed_up
        reached_when: {event: signup}
      - milestone: searched
        reached_when: {event: search}
      - milestone: exported
        reached_when: {event: export}
"""

JOURNEY = "journey: onboarding\nevents:\n  from: events\n" + MILESTONES

PROJECT_YML = """\
name: test_project
profile: test
vars:
  as_of: "2024-03-01 00:00:00"
"""


def query(root: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def dq_rows(root: Path) -> list[dict]:
    with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
        cursor = con.execute("SELECT * FROM dq_results ORDER BY checked_at, check_name")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def dq_by_name(root: Path) -> dict[str, dict]:
    """The latest run's dq_results rows by check name."""
    rows = dq_rows(root)
    last = max(r["run_id"] for r in rows)
    return {r["check_name"]: r for r in rows if r["run_id"] == last}


def funnel(root: Path) -> list[tuple]:
    return query(root, "SELECT milestone, customers_reached FROM funnel ORDER BY journey, milestone_index")


def project_files(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The base project's files (see the module docstring), with some replaced or added."""
    files = {"clg_project.yml": PROJECT_YML, "seeds/events.csv": EVENTS_CSV,
             "milestones/onboarding.yml": JOURNEY}
    return {**files, **(overrides or {})}


# --- the GX-on-DuckDB workaround ----------------------------------------------------------------

def test_gx_on_duckdb_counts_known_nulls(tmp_path):
    """Without the workaround every expectation on duckdb-engine errors ("list index out of range")."""
    from clg_metrics.checks.derive import CheckSpec
    from clg_metrics.checks.gx import run_checks

    engine = connect(DuckDBTarget(type="duckdb", path=":memory:"), tmp_path)
    try:
        engine.execute("CREATE TABLE t AS SELECT i, CASE WHEN i % 4 = 0 THEN NULL ELSE i END AS v, i AS w "
                       "FROM range(20) r(i)")
        assert engine.fetch("SELECT count(*) FROM t WHERE v IS NULL")[1] == [(5,)]
        checks = [CheckSpec(f"t.{c}.not_null", "t", "ExpectColumnValuesToNotBeNull", {"column": c}, column=c)
                  for c in ("v", "w")]
        results = run_checks(engine, checks, lambda relation: f"main.{relation}")
    finally:
        engine.close()
    by_name = {r.check.name: r for r in results}
    assert by_name["t.v.not_null"].status == "fail", by_name["t.v.not_null"]
    assert by_name["t.v.not_null"].unexpected_count == 5
    assert by_name["t.w.not_null"].status == "pass", by_name["t.w.not_null"]
    assert by_name["t.w.not_null"].unexpected_count == 0


# --- the declared-check catalog against great-expectations itself ----------------------------------

# Where we are deliberately stricter than GX's signature: GX types `column_set` Optional, but its
# _validate calls set(column_set), so the expectation cannot run without it.
STRICTER_THAN_GX = {("table_columns_to_match_set", "column_set")}


@pytest.fixture(scope="module")
def gx_expectations():
    from clg_metrics.checks.gx import _import_gx

    return _import_gx().expectations


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_catalog_matches_great_expectations(name, gx_expectations):
    class_name, required, optional = EXPECTATIONS[name]
    cls = getattr(gx_expectations, class_name, None)
    assert cls is not None, f"great_expectations.expectations has no {class_name}"
    # the snake name is GX's own: ExpectColumnValuesToBeUnique <-> column_values_to_be_unique
    snake = "".join("_" + c.lower() if c.isupper() else c for c in class_name).lstrip("_")
    assert snake == "expect_" + name.lower()
    fields = cls.__fields__
    for arg in required:
        assert arg in fields, f"{class_name} has no field {arg}"
        if (name, arg) not in STRICTER_THAN_GX:
            assert fields[arg].required, f"{class_name}.{arg} is optional in GX"
    for arg in optional:
        assert arg in fields, f"{class_name} has no field {arg}"
        assert not fields[arg].required, f"{class_name}.{arg} is required in GX but optional in the catalog"
    gx_required = {n for n, f in fields.items() if f.required}
    assert gx_required <= set(required), f"{class_name} requires {gx_required - set(required)} too"


# --- derived checks through real builds ---------------------------------------------------------

def test_null_customer_id_fails_the_build_and_keeps_outputs(make_project):
    root = make_project(project_files())
    code, output = cli("build", project_dir=root)
    assert code == 0, output
    before_funnel = funnel(root)
    assert [n for _, n in before_funnel] == [3, 2, 1]
    before_events = query(root, "SELECT * FROM events ORDER BY event_id")

    (root / "seeds" / "events.csv").write_text(EVENTS_CSV.replace("4,2,signup", "4,,signup") +
                                               "7,3,search,2024-01-03 00:00:00\n")
    code, output = cli("build", "--as-of", "2024-01-04", project_dir=root)
    assert code == 1, output
    assert "events.customer_id.not_null" in output and "`events`" in output
    assert "nothing was published" in output

    assert funnel(root) == before_funnel
    assert query(root, "SELECT * FROM events ORDER BY event_id") == before_events
    leftovers = "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '__clg_next__%'"
    assert query(root, leftovers) == [(0,)]
    row = dq_by_name(root)["events.customer_id.not_null"]
    assert (row["relation"], row["column_name"], row["severity"], row["status"], row["unexpected_count"]) == \
        ("events", "customer_id", "error", "fail", 1)
    # the first (good) build recorded the same check as passing
    first = [r for r in dq_rows(root) if r["check_name"] == "events.customer_id.not_null"]
    assert [r["status"] for r in first] == ["pass", "fail"]
    results = json.loads((root / "target" / "run_results.json").read_text())
    recorded = next(c for c in results["checks"] if c["name"] == "events.customer_id.not_null")
    assert recorded["status"] == "fail"


def test_duplicate_event_id_fails_the_build(make_project):
    root = make_project(project_files({"seeds/events.csv": EVENTS_CSV.replace("5,2,search", "4,2,search")}))
    code, output = cli("build", project_dir=root)
    assert code == 1, output
    assert "events.event_id.unique" in output and "`events`" in output
    row = dq_by_name(root)["events.event_id.unique"]
    assert (row["severity"], row["status"]) == ("error", "fail")
    assert row["unexpected_count"] == 2  # both rows with event_id 4
    assert "funnel" not in [t for (t,) in query(root, "SELECT table_name FROM information_schema.tables")]


def test_warnings_do_not_fail_the_build(make_project):
    """Events after as_of, a misspelt event name and events of unknown customers: warnings only."""
    events = EVENTS_CSV + ("7,1,search,2024-06-01 00:00:00\n8,1,search,2024-07-01 00:00:00\n"
                           "9,4,signup,2024-01-03 00:00:00\n10,4,search,2024-01-04 00:00:00\n"
                           "11,5,signup,2024-01-05 00:00:00\n")
    journey = JOURNEY.replace("journey: onboarding\nevents:\n  from: events\n",
                              "journey: onboarding\nevents:\n  from: events\ncustomers:\n  from: customers\n")
    journey += ("      - milestone: searched_twice\n"
                "        reached_when: {event: serach, at_least: 2}\n")
    root = make_project(project_files({"seeds/events.csv": events, "seeds/customers.csv": CUSTOMERS_CSV,
                                      "milestones/onboarding.yml": journey}))
    code, output = cli("build", project_dir=root)
    assert code == 0, output
    assert "3 warnings" in output
    rows = dq_by_name(root)

    after = rows["events.occurred_at.at_or_before_as_of"]
    assert (after["severity"], after["status"], after["unexpected_count"]) == ("warn", "fail", 2)
    assert "2024-06-01" in after["sample"] and "2024-07-01" in after["sample"]

    names = rows["events.onboarding.event_names_occur"]
    assert (names["severity"], names["status"], names["unexpected_count"]) == ("warn", "fail", 1)
    assert json.loads(names["sample"]) == [["serach"]]

    orphans = rows["events.customer_id.in_customers"]
    assert (orphans["severity"], orphans["status"], orphans["unexpected_count"]) == ("warn", "fail", 3)

    for name in ("events.customer_id.not_null", "events.event_name.not_null", "events.occurred_at.not_null",
                 "events.event_id.unique", "customers.customer_id.unique"):
        assert rows[name]["status"] == "pass", rows[name]
    # events after as_of do not count; customers 4 and 5 have no customers row but are counted
    assert funnel(root)[:3] == [("signed_up", 5), ("searched", 3), ("exported", 1)]


def test_duplicate_customer_fails_the_build(make_project):
    journey = JOURNEY.replace("  from: events\n", "  from: events\ncustomers:\n  from: customers\n", 1)
    root = make_project(project_files({"seeds/customers.csv": CUSTOMERS_CSV + "2,2024-01-03 00:00:00,free\n",
                                      "milestones/onboarding.yml": journey}))
    code, output = cli("build", project_dir=root)
    assert code == 1, output
    assert "customers.customer_id.unique" in output and "`customers`" in output
    row = dq_by_name(root)["customers.customer_id.unique"]
    assert (row["relation"], row["severity"], row["status"], row["unexpected_count"]) == \
        ("customers", "error", "fail", 2)


def _connections_on_closed_duckdb() -> int:
    """Live, checked-out SQLAlchemy connections whose DuckDB connection is already closed."""
    from sqlalchemy.pool.base import _ConnectionFairy

    gc.collect()
    stale = 0
    for fairy in [o for o in gc.get_objects() if isinstance(o, _ConnectionFairy)]:
        raw = fairy.dbapi_connection
        inner = getattr(raw, "_ConnectionWrapper__c", raw)  # duckdb_engine's wrapper around our cursor
        if isinstance(inner, duckdb.DuckDBPyConnection):
            try:
                inner.execute("SELECT 1")
            except duckdb.ConnectionException:
                stale += 1
    return stale


@pytest.mark.xfail(strict=True, reason="library bug: run_checks leaves great-expectations' SQLAlchemy "
                   "connection (on a cursor of the engine's DuckDB connection) checked out after it returns; "
                   "once the engine is closed, the garbage collector's rollback on it logs 'Exception during "
                   "reset or similar ... Connection already closed!'")
def test_run_checks_leaves_no_connection_behind(tmp_path):
    from clg_metrics.checks.derive import CheckSpec
    from clg_metrics.checks.gx import run_checks

    engine = connect(DuckDBTarget(type="duckdb", path=":memory:"), tmp_path)
    try:
        engine.execute("CREATE TABLE t AS SELECT NULL::INTEGER AS v")
        results = run_checks(engine, [CheckSpec("t.v.not_null", "t", "ExpectColumnValuesToNotBeNull",
                                                {"column": "v"})], lambda relation: f"main.{relation}")
        assert [r.status for r in results] == ["fail"]
    finally:
        engine.close()
    assert _connections_on_closed_duckdb() == 0


# --- declared checks ----------------------------------------------------------------------------

DECLARED = """\
journey: onboarding
events:
  from: events
customers:
  from: customers
  checks:
    - {expect: column_values_to_be_in_set, column: plan, value_set: [free, pro], severity: SEVERITY}
""" + MILESTONES


@pytest.mark.parametrize("severity, exit_code", [("warn", 0), ("error", 1)])
def test_declared_check_on_customers(make_project, severity, exit_code):
    customers = CUSTOMERS_CSV.replace("3,2024-01-02 00:00:00,free", "3,2024-01-02 00:00:00,enterprise")
    root = make_project(project_files({"seeds/customers.csv": customers,
                                      "milestones/onboarding.yml": DECLARED.replace("SEVERITY", severity)}))
    code, output = cli("build", project_dir=root)
    assert code == exit_code, output
    row = dq_by_name(root)["customers.plan.column_values_to_be_in_set"]
    assert (row["relation"], row["column_name"], row["severity"], row["status"], row["unexpected_count"]) == \
        ("customers", "plan", severity, "fail", 1)
    assert "enterprise" in row["sample"]
    tables = {t for (t,) in query(root, "SELECT table_name FROM information_schema.tables")}
    if exit_code == 0:
        assert [n for _, n in funnel(root)] == [3, 2, 1]
    else:
        assert "customers.plan.column_values_to_be_in_set" in output and "`customers`" in output
        assert "funnel" not in tables


def test_declared_check_on_a_sql_model(make_project):
    """`models: {stg: {checks: [...]}}` in clg_project.yml; severity defaults to error."""
    project_yml = PROJECT_YML + """\
models:
  stg:
    checks:
      - {expect: column_to_exist, column: customer_id}
      - {expect: table_row_count_to_be_between, max_value: 5}
"""
    journey = JOURNEY.replace("from: events", "from: stg")
    root = make_project(project_files({"clg_project.yml": project_yml, "milestones/onboarding.yml": journey,
                                      "sql/stg.sql": "SELECT * FROM events\n"}))
    assert (root / "sql" / "stg.sql").is_file()
    code, output = cli("build", project_dir=root)
    assert code == 1, output
    assert "stg.table_row_count_to_be_between" in output and "`stg`" in output
    rows = dq_by_name(root)
    failed = rows["stg.table_row_count_to_be_between"]
    assert (failed["relation"], failed["severity"], failed["status"]) == ("stg", "error", "fail")
    assert "6" in failed["sample"]  # the observed row count
    assert rows["stg.customer_id.column_to_exist"]["status"] == "pass"
    assert rows["stg.customer_id.not_null"]["status"] == "pass"  # derived checks follow the events source

    # with a bound the model meets, the same project builds
    (root / "clg_project.yml").write_text(project_yml.replace("max_value: 5", "max_value: 6"))
    code, output = cli("build", project_dir=root)
    assert code == 0, output
    assert dq_by_name(root)["stg.table_row_count_to_be_between"]["status"] == "pass"


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_unknown_expectation_and_argument_are_located(make_project):
    journey = DECLARED.replace("SEVERITY", "warn").replace("_to_be_in_set", "_to_be_in_sett")
    root = make_project(project_files({"seeds/customers.csv": CUSTOMERS_CSV,
                                      "milestones/onboarding.yml": journey}))
    code, output = cli("validate", project_dir=root)
    assert code == 2, output
    line = _line_of(journey, "column_values_to_be_in_sett")
    assert f"{root / 'milestones' / 'onboarding.yml'}:{line}:" in output, output
    assert "unknown expectation `column_values_to_be_in_sett`" in output
    assert "did you mean `column_values_to_be_in_set`?" in output

    journey = DECLARED.replace("SEVERITY", "warn").replace("value_set:", "value_sett:")
    (root / "milestones" / "onboarding.yml").write_text(journey)
    project_yml = PROJECT_YML + """\
models:
  events:
    checks:
      - {expect: column_to_exist, column: customer_id}
      - {expect: column_values_to_not_be_null, colum: customer_id}
"""
    (root / "clg_project.yml").write_text(project_yml)
    code, output = cli("validate", project_dir=root)
    assert code == 2, output
    line = _line_of(project_yml, "colum:")
    assert f"{root / 'clg_project.yml'}:{line}:" in output, output
    assert "no argument `colum`" in output and "did you mean `column`?" in output

    (root / "clg_project.yml").write_text(PROJECT_YML)
    code, output = cli("validate", project_dir=root)
    assert code == 2, output
    line = _line_of(journey, "value_sett:")
    assert f"{root / 'milestones' / 'onboarding.yml'}:{line}:" in output, output
    assert "no argument `value_sett`" in output and "did you mean `value_set`?" in output


# --- output invariants --------------------------------------------------------------------------

INVARIANTS = {
    "milestones/seq.yml": "journey: seq\nevents: {from: events}\n" + MILESTONES,
    "milestones/ind.yml": """\
journey: ind
order: independent
events: {from: events}
phases:
  - phase: p
    milestones:
      - {milestone: a, reached_when: {event: search}}
      - {milestone: b, reached_when: {event: signup}}
""",
}

# (journey, customer_id, phase, milestone, milestone_index, reached_at)
GOOD_STATUS = [
    ("seq", 1, "start", "signed_up", 1, "2024-01-01"), ("seq", 1, "start", "searched", 2, "2024-01-02"),
    ("seq", 1, "start", "exported", 3, "2024-01-03"),
    ("seq", 2, "start", "signed_up", 1, "2024-01-01"), ("seq", 2, "start", "searched", 2, None),
    ("seq", 2, "start", "exported", 3, None),
    # independent: b before a is fine
    ("ind", 1, "p", "a", 1, "2024-01-02"), ("ind", 1, "p", "b", 2, "2024-01-01"),
    ("ind", 2, "p", "a", 1, None), ("ind", 2, "p", "b", 2, "2024-01-01"),
]
# (journey, milestone_index, milestone, customers_reached): under `independent` the funnel may grow
GOOD_FUNNEL = [("seq", 1, "signed_up", 2), ("seq", 2, "searched", 1), ("seq", 3, "exported", 1),
               ("ind", 1, "a", 1), ("ind", 2, "b", 2)]


def _create(engine, table: str, status: list[tuple], funnel_rows: list[tuple]) -> None:
    from clg_metrics.filters import literal

    def values(rows, kinds):
        def row(values):
            cells = (f"CAST({literal(v).sql('duckdb')} AS {k})" for v, k in zip(values, kinds))
            return "(" + ", ".join(cells) + ")"

        return ", ".join(row(r) for r in rows)

    engine.execute(f"CREATE TABLE {table}_milestone_status AS SELECT *, NULL::VARCHAR AS kpi, "
                   "reached_at IS NOT NULL AS is_reached, "
                   "CASE WHEN reached_at IS NULL THEN 'in_progress' ELSE 'reached' END AS status "
                   "FROM (VALUES "
                   + values(status, ["VARCHAR", "BIGINT", "VARCHAR", "VARCHAR", "INTEGER", "TIMESTAMP"]) +
                   ") v(journey, customer_id, phase, milestone, milestone_index, reached_at)")
    engine.execute(f"CREATE TABLE {table}_funnel AS SELECT *, NULL::VARCHAR AS phase, NULL::VARCHAR AS kpi, "
                   "NULL::DOUBLE AS pct_of_first FROM (VALUES "
                   + values(funnel_rows, ["VARCHAR", "INTEGER", "VARCHAR", "BIGINT"]) +
                   ") v(journey, milestone_index, milestone, customers_reached)")


def test_output_invariants_catch_bad_tables(make_project, tmp_path):
    from clg_metrics.checks.fast import run_fast_checks
    from clg_metrics.checks.gx import run_checks

    root = make_project({"seeds/events.csv": EVENTS_CSV, **INVARIANTS})
    checks = output_checks(load_project(root))
    names = sorted(c.name for c in checks)
    assert names == ["funnel.customers_reached_never_increases",
                     "milestone_status.every_milestone_per_customer",
                     "milestone_status.one_row_per_journey_customer_milestone",
                     "milestone_status.reached_at_never_decreases"]
    assert all(c.severity == "error" and c.stage == "output" for c in checks)

    def swap(rows, old, new):
        return [new if r == old else r for r in rows]

    scenarios = {
        "good": (GOOD_STATUS, GOOD_FUNNEL),
        "growing": (GOOD_STATUS, swap(GOOD_FUNNEL, ("seq", 3, "exported", 1), ("seq", 3, "exported", 2))),
        "earlier": (swap(GOOD_STATUS, ("seq", 1, "start", "exported", 3, "2024-01-03"),
                         ("seq", 1, "start", "exported", 3, "2024-01-01 12:00:00")), GOOD_FUNNEL),
        "duplicated": (GOOD_STATUS + [GOOD_STATUS[3]], GOOD_FUNNEL),
        "missing": ([r for r in GOOD_STATUS if r[:2] != ("seq", 2) or r[3] != "exported"], GOOD_FUNNEL),
    }
    engine = connect(DuckDBTarget(type="duckdb", path=":memory:"), tmp_path)
    try:
        for scenario, (status, funnel_rows) in scenarios.items():
            _create(engine, scenario, status, funnel_rows)
        # one run: each scenario's checks read that scenario's tables
        runs = [replace(c, relation=f"{scenario}_{c.relation}") for scenario in scenarios for c in checks]
        # through great-expectations, and as the compiled SQL that builds use for built-in checks
        paths = {"gx": run_checks(engine, runs, lambda relation: f"main.{relation}"),
                 "sql": run_fast_checks(engine, runs, lambda relation: f"main.{relation}")}
    finally:
        engine.close()

    expected_failures = {
        "good": {},
        "growing": {"funnel.customers_reached_never_increases": 1},
        "earlier": {"milestone_status.reached_at_never_decreases": 1},
        # the duplicate is two rows with one key; customer 2 then has 4 rows for 3 milestones
        "duplicated": {"milestone_status.one_row_per_journey_customer_milestone": 2,
                       "milestone_status.every_milestone_per_customer": 1},
        "missing": {"milestone_status.every_milestone_per_customer": 1},
    }
    for path, results in paths.items():
        outcome = {(r.check.relation.split("_", 1)[0], r.check.name): (r.status, r.unexpected_count)
                   for r in results}
        assert len(outcome) == len(runs), path
        for scenario, failures in expected_failures.items():
            for name in names:
                status, count = outcome[(scenario, name)]
                expected = ("fail", failures[name]) if name in failures else ("pass", 0)
                assert (status, count) == expected, (path, scenario, name, status, count)


# --- clg-metrics test ---------------------------------------------------------------------------

def test_the_test_command_runs_checks_on_published_tables(make_project):
    root = make_project(project_files())
    code, output = cli("build", project_dir=root)
    assert code == 0, output
    first = dq_rows(root)
    assert len({r["run_id"] for r in first}) == 1
    per_run = len(first)
    assert per_run >= 8  # 5 source checks + 3 output checks on this project

    code, output = cli("test", project_dir=root)
    assert code == 0, output
    assert "events.customer_id.not_null" in output
    second = dq_rows(root)
    assert len(second) == 2 * per_run
    runs = sorted({r["run_id"] for r in second})
    assert len(runs) == 2
    assert [r for r in second if r["run_id"] == runs[0]] == first  # appended, the old rows kept as they were
    assert {r["status"] for r in second if r["run_id"] == runs[1]} == {"pass"}
    assert {r["check_name"] for r in second if r["run_id"] == runs[1]} == {r["check_name"] for r in first}

    # a published output that breaks an error invariant: `test` reports it and exits 1
    with duckdb.connect(str(root / "target" / "test.duckdb")) as con:
        con.execute("INSERT INTO milestone_status SELECT * FROM milestone_status WHERE customer_id = 1 "
                    "AND milestone = 'signed_up'")
    code, output = cli("test", project_dir=root)
    assert code == 1, output
    assert "milestone_status.one_row_per_journey_customer_milestone" in output
    third = dq_rows(root)
    assert len(third) == 3 * per_run
    latest = dq_by_name(root)
    assert latest["milestone_status.one_row_per_journey_customer_milestone"]["status"] == "fail"
    assert latest["milestone_status.every_milestone_per_customer"]["status"] == "fail"
    assert latest["events.customer_id.not_null"]["status"] == "pass"
    # `test` only checks: the bad row is still there, nothing was rebuilt
    assert query(root, "SELECT count(*) FROM milestone_status") == [(10,)]


# --- commands that must not import great-expectations -------------------------------------------

def test_help_validate_compile_do_not_import_great_expectations(make_project):
    journey = DECLARED.replace("SEVERITY", "warn")  # declared checks go through the catalog
    root = make_project(project_files({"seeds/customers.csv": CUSTOMERS_CSV,
                                      "milestones/onboarding.yml": journey}))
    script = f"""
import json, sys
from click.testing import CliRunner
from clg_metrics.cli import main
ROOT = {str(root)!r}
out = {{}}
for args in (["--help"], ["validate", "--project-dir", ROOT], ["compile", "--project-dir", ROOT]):
    result = CliRunner().invoke(main, args)
    out[args[0]] = [result.exit_code, "great_expectations" in sys.modules, "sqlalchemy" in sys.modules]
print(json.dumps(out))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # [exit code, great_expectations imported, sqlalchemy imported]
    assert out == {"--help": [0, False, False], "validate": [0, False, False],
                   "compile": [0, False, False]}, out
    assert (root / "target" / "manifest.json").is_file()  # compile really ran


def test_output_invariants_that_hold_cost_one_query(make_project, tmp_path):
    """The three invariants of milestone_status are proved in one GROUP BY when they hold; a table
    that breaks any of them gets each check's own query (the counts above)."""
    from clg_metrics.checks.fast import run_fast_checks

    root = make_project({"seeds/events.csv": EVENTS_CSV, **INVARIANTS})
    checks = [c for c in output_checks(load_project(root)) if c.relation == "milestone_status"]
    engine = connect(DuckDBTarget(type="duckdb", path=":memory:"), tmp_path)
    try:
        _create(engine, "good", GOOD_STATUS, GOOD_FUNNEL)
        _create(engine, "bad", GOOD_STATUS + [GOOD_STATUS[3]], GOOD_FUNNEL)
        queries = []

        class Counting:
            def fetch(self, query, *args, **kwargs):
                queries.append(query)
                return engine.fetch(query, *args, **kwargs)

            def __getattr__(self, name):
                return getattr(engine, name)

        # bad: the pass that finds it, each check's count, a sample for the two that fail
        for scenario, expected in (("good", 1), ("bad", 1 + len(checks) + 2)):
            queries.clear()
            results = run_fast_checks(Counting(), [replace(c, relation=f"{scenario}_{c.relation}") for c in checks],
                                      lambda relation: f"main.{relation}")
            assert len(queries) == expected, (scenario, len(queries))
            assert all(r.status == "pass" for r in results) == (scenario == "good")
    finally:
        engine.close()
