"""Golden tests of the emitted SQL: the text is pinned, and the pinned text also runs on DuckDB.

Regenerate after an intended change with ``CLG_UPDATE_GOLDEN=1 pytest tests/test_golden.py`` and
review the diff; the files are never rewritten silently.
"""

from __future__ import annotations

import difflib
import os
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from clg_metrics.compiler import EventSource, JourneyCompiler
from clg_metrics.spec import Journey
from clg_metrics.yaml_loader import load_yaml

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "journey.yml").exists())
AS_OF = datetime(2025, 1, 1)
COLUMNS = {"stg_events": ["event_id", "user_id", "event", "ts", "properties"],
           "events": ["customer_id", "event_name", "occurred_at", "format", "value"],
           "customers": ["customer_id", "signed_up_at", "plan"]}
# Output tables pinned for journeys with segments (SPEC §4), over a progress table named `progress`
SEGMENT_OUTPUTS = ("segment_members", "success_gaps")


def compiled(case: str) -> str:
    journey = Journey.model_validate(load_yaml(GOLDEN / case / "journey.yml").data)
    source = EventSource(journey.events.from_, journey.events.columns, COLUMNS[journey.events.from_])
    return JourneyCompiler(journey, source, AS_OF).compile().sql("duckdb", pretty=True) + "\n"


def assert_golden(expected_path: Path, actual: str) -> None:
    """``actual`` equals the pinned file (rewritten instead with CLG_UPDATE_GOLDEN=1), or a diff."""
    if os.environ.get("CLG_UPDATE_GOLDEN") == "1":
        expected_path.write_text(actual)
    assert expected_path.exists(), f"no golden file: run CLG_UPDATE_GOLDEN=1 pytest {__file__}"
    expected = expected_path.read_text()
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "expected", "actual"))
        pytest.fail(f"emitted SQL differs from {expected_path}:\n{diff}")


@pytest.mark.parametrize("case", CASES)
def test_emitted_sql_matches_golden(case):
    assert_golden(GOLDEN / case / "expected.sql", compiled(case))


@pytest.mark.parametrize("case", CASES)
def test_golden_sql_runs_on_duckdb(case):
    """The pinned SQL is valid DuckDB and gives one row per customer."""
    con = duckdb.connect()
    con.execute("CREATE TABLE stg_events (event_id BIGINT, user_id BIGINT, event VARCHAR, ts TIMESTAMP, "
                "properties VARCHAR)")
    con.execute("INSERT INTO stg_events VALUES (1, 1, 'page_view', '2024-01-01', '{}'), "
                "(2, 1, 'export', '2024-01-02', '{\"format\": \"csv\"}'), (3, 2, 'login', '2024-02-01', NULL)")
    con.execute("CREATE TABLE stg_customers (user_id BIGINT, created_at TIMESTAMP)")
    con.execute("INSERT INTO stg_customers VALUES (1, '2024-01-01'), (3, '2024-03-01')")
    con.execute("CREATE TABLE events (customer_id BIGINT, event_name VARCHAR, occurred_at TIMESTAMP, "
                "format VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO events VALUES (1, 'search', '2024-01-01', 'csv', 'a'), "
                "(1, 'browse', '2024-01-02', 'csv', 'b'), (1, 'search', '2024-01-03', NULL, 'c'), "
                "(1, 'login', '2024-01-03', NULL, NULL), (1, 'login', '2024-01-03 01:00', NULL, NULL), "
                "(1, 'export', '2024-01-04', 'xlsx', NULL)")
    con.execute("CREATE TABLE customers (customer_id BIGINT, signed_up_at TIMESTAMP)")
    con.execute("INSERT INTO customers VALUES (1, '2024-01-01'), (9, NULL)")
    rows = con.execute((GOLDEN / case / "expected.sql").read_text()).fetchall()
    # stg_events: customers 1 and 2 from events, 3 from customers; events: 1 from events, 9 from customers
    assert len(rows) == {"spec_journey": 3, "distinct_within": 2}.get(case, len(rows))
    if case == "distinct_within":
        row = next(r for r in rows if r[0] == 1)
        # explorer: 3rd distinct non-pdf value on Jan 3 (format NULL is not <> 'pdf': excluded) -> never
        # so only 2 distinct values (a, b) count: explorer not reached, fast_start not reached
        assert row[2:5] == (None, None, None)


def compiled_outputs(case: str) -> str:
    """The SPEC §4 outputs whose SQL depends most on the segment language, one after the other."""
    from clg_metrics.compiler import OUTPUTS_BY_NAME
    from clg_metrics.compiler.outputs import BuiltJourney

    journey = Journey.model_validate(load_yaml(GOLDEN / case / "journey.yml").data)
    built = [BuiltJourney(journey, "progress", COLUMNS[journey.customers.from_])]
    return "".join(f"-- {name}\n" + OUTPUTS_BY_NAME[name].build(built, AS_OF).sql("duckdb", pretty=True) + ";\n"
                   for name in SEGMENT_OUTPUTS)


SEGMENT_CASES = [c for c in CASES if "segments:" in (GOLDEN / c / "journey.yml").read_text()]


@pytest.mark.parametrize("case", SEGMENT_CASES)
def test_segment_outputs_match_golden(case):
    assert_golden(GOLDEN / case / "expected_outputs.sql", compiled_outputs(case))


@pytest.mark.parametrize("case", SEGMENT_CASES)
def test_golden_segment_sql_runs_on_duckdb(case):
    """The pinned progress and output SQL run on DuckDB and give the hand-worked members and gaps."""
    con = duckdb.connect()
    con.execute("CREATE TABLE events (customer_id BIGINT, event_name VARCHAR, occurred_at TIMESTAMP, "
                "format VARCHAR, value VARCHAR)")
    # 1: pro, signed up 2024-08-01 (153 days before as_of), 1 ticket, first_value on 2024-09-03,
    #    searched csv and pdf in the last 72 hours;
    # 2: free, signed up 2024-12-01, no search or login in the last 14 days, no first_value;
    # 3: agency, signed up 2024-12-20 (12 days: too recent for best), first_value
    con.execute("""INSERT INTO events VALUES
        (1, 'signup', '2024-08-01', NULL, NULL), (1, 'search', '2024-09-01', 'csv', NULL),
        (1, 'search', '2024-09-02', 'csv', NULL), (1, 'export', '2024-09-03', NULL, NULL),
        (1, 'support_ticket', '2024-09-04', NULL, NULL), (1, 'search', '2024-12-30', 'csv', NULL),
        (1, 'search', '2024-12-31', 'pdf', NULL),
        (2, 'signup', '2024-12-01', NULL, NULL), (2, 'login', '2024-12-02', NULL, NULL),
        (3, 'signup', '2024-12-20', NULL, NULL), (3, 'search', '2024-12-21', NULL, NULL),
        (3, 'search', '2024-12-22', NULL, NULL), (3, 'export', '2024-12-23', NULL, NULL)""")
    con.execute("CREATE TABLE customers (customer_id BIGINT, signed_up_at TIMESTAMP, plan VARCHAR)")
    con.execute("INSERT INTO customers VALUES (1, '2024-08-01', 'pro'), (2, '2024-12-01', 'free'), "
                "(3, '2024-12-20', 'agency')")
    con.execute("CREATE TABLE progress AS " + (GOLDEN / case / "expected.sql").read_text())
    members_sql, gaps_sql = [part.split("\n", 1)[1] for part in
                             (GOLDEN / case / "expected_outputs.sql").read_text().split(";\n") if part.strip()]
    con.execute("CREATE TABLE segment_members AS " + members_sql)
    members = con.execute("SELECT segment, customer_id FROM segment_members ORDER BY 1, 2").fetchall()
    assert members == [("best", 1), ("explorers", 1), ("explorers", 2), ("went_quiet", 2)]
    gaps = con.execute("SELECT segment, to_index, customers_at_from, customers_converted, gap_customers, rank "
                       "FROM (" + gaps_sql + ") ORDER BY 1, 2").fetchall()
    # all: 3 signed up, 2 reached first_value (1 and 3); best converts 1 of 1, so the gap is
    # 3 x (100% - 66.67%) = 1.0 customer; nobody reached habit
    assert ("all", 2, 3, 2, 1.0, 1) in gaps
    assert ("best", 2, 1, 1, 0.0, 2) in gaps  # its rank 1 is the step into habit: gaps tie at 0, 1 dropped
