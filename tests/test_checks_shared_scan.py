"""The built-in source checks in one shared scan (issue 14, item 2), the skipped uniqueness scan of a
declared key, and ``outputs:`` in clg_project.yml (build only some output tables)."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import pytest
from conftest import cli

from clg_metrics.checks.derive import source_checks
from clg_metrics.checks.fast import run_fast_checks, shares_scan
from clg_metrics.engines import connect
from clg_metrics.loader import load_project
from clg_metrics.profiles import DuckDBTarget

EVENTS = """CREATE TABLE events AS SELECT * FROM (VALUES
    (1, 'c1', 'signup', TIMESTAMP '2024-01-01'), (2, 'c1', 'search', TIMESTAMP '2024-01-02'),
    (3, NULL, 'search', TIMESTAMP '2024-01-03'), (4, 'c9', 'signup', TIMESTAMP '2024-01-04'),
    (5, 'c9', 'search', TIMESTAMP '2024-05-01'), (6, 'c2', NULL, TIMESTAMP '2024-01-05'),
    (7, 'c2', 'signup', NULL), (7, 'c8', 'signup', TIMESTAMP '2024-06-01'))
    v(event_id, customer_id, event_name, occurred_at)"""
CUSTOMERS = """CREATE TABLE customers AS SELECT * FROM (VALUES
    ('c1', TIMESTAMP '2024-01-01'), ('c2', TIMESTAMP '2024-01-01'), (NULL, TIMESTAMP '2024-01-01'))
    v(customer_id, signed_up_at)"""
JOURNEY = """\
journey: onboarding
events: {from: main.events}
customers: {from: main.customers}
phases:
  - phase: start
    milestones:
      - {milestone: signed_up, reached_when: {event: signup}}
      - {milestone: exported, reached_when: {event: export}}
      - {milestone: searched, reached_when: {event: search, at_least: 2}}
"""


class Counting:
    """The engine, counting the queries the checks send."""

    def __init__(self, engine):
        self.engine, self.queries = engine, 0

    def fetch(self, statement, *args, **kwargs):
        self.queries += 1
        return self.engine.fetch(statement, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.engine, name)


@pytest.fixture
def setup(tmp_path, make_project):
    root = make_project({"clg_project.yml": "name: t\nprofile: test\n", "milestones/onboarding.yml": JOURNEY})
    engine = connect(DuckDBTarget(type="duckdb", path=":memory:"), tmp_path)
    engine.execute(EVENTS)
    engine.execute(CUSTOMERS)
    project = load_project(root)
    checks = source_checks(project, datetime(2024, 3, 1), None, lambda r: ["event_id", "customer_id", "event_name",
                                                                           "occurred_at"] if "events" in r else None)
    yield engine, checks
    engine.close()


def physical(name: str) -> str:
    return name if "." in name else f"main.{name}"


def test_shared_scan_counts_equal_great_expectations_and_hand_counts(setup):
    from clg_metrics.checks.gx import run_checks

    engine, checks = setup
    fast = {r.check.name: (r.status, r.unexpected_count) for r in run_fast_checks(engine, checks, physical)}
    gx = {r.check.name: (r.status, r.unexpected_count) for r in run_checks(engine, checks, physical)}
    assert fast == gx
    # by hand: one NULL per mapped column; events 5 and the last 7 after as_of; `export` never occurs;
    # c9 (2 events) and c8 unknown (the NULL customer row is no one); event_id 7 twice; customers'
    # NULL id is a warning, their ids unique
    assert fast == {"events.customer_id.not_null": ("fail", 1), "events.event_name.not_null": ("fail", 1),
                    "events.occurred_at.not_null": ("fail", 1), "events.event_id.unique": ("fail", 2),
                    "events.occurred_at.at_or_before_as_of": ("fail", 2),
                    "events.onboarding.event_names_occur": ("fail", 1), "events.customer_id.in_customers": ("fail", 3),
                    "customers.customer_id.unique": ("pass", 0), "customers.customer_id.not_null": ("fail", 1)}
    samples = {r.check.name: json.loads(r.sample) for r in run_fast_checks(engine, checks, physical) if r.sample}
    assert samples["events.onboarding.event_names_occur"] == [["export"]]
    assert sorted(r[1] for r in samples["events.customer_id.in_customers"]) == ["c8", "c9", "c9"]


def test_passing_row_checks_cost_one_query_per_relation(setup):
    engine, checks = setup
    engine.execute("DELETE FROM events WHERE customer_id IS NULL OR event_name IS NULL OR occurred_at IS NULL "
                   "OR occurred_at > TIMESTAMP '2024-03-01' OR customer_id NOT IN ('c1', 'c2')")
    engine.execute("INSERT INTO events VALUES (9, 'c1', 'export', TIMESTAMP '2024-01-09')")
    engine.execute("DELETE FROM customers WHERE customer_id IS NULL")
    shared = [c for c in checks if shares_scan(c)]
    assert {c.name.split(".", 1)[1] for c in shared if c.relation == "main.events"} == {
        "customer_id.not_null", "event_name.not_null", "occurred_at.not_null", "occurred_at.at_or_before_as_of",
        "onboarding.event_names_occur", "customer_id.in_customers"}
    counting = Counting(engine)
    results = run_fast_checks(counting, shared, physical)
    assert all(r.status == "pass" for r in results), [(r.check.name, r.status) for r in results]
    assert counting.queries == 2  # one scan of events (six checks), one of customers


def test_uniqueness_of_a_declared_key_is_not_scanned(setup):
    engine, checks = setup
    engine.execute("CREATE TABLE keyed (event_id BIGINT PRIMARY KEY, customer_id VARCHAR)")
    engine.execute("CREATE TABLE unkeyed (event_id BIGINT, customer_id VARCHAR UNIQUE)")
    engine.execute("INSERT INTO unkeyed VALUES (1, 'a'), (1, 'b')")
    unique = next(c for c in checks if c.name == "events.event_id.unique")
    keyed = type(unique)(**{**unique.__dict__, "relation": "main.keyed"})
    unkeyed = type(unique)(**{**unique.__dict__, "relation": "main.unkeyed"})
    counting = Counting(engine)
    [result] = run_fast_checks(counting, [keyed], physical)
    assert (result.status, result.unexpected_count) == ("pass", 0) and "PRIMARY KEY" in result.hint
    assert counting.queries == 1  # the catalog lookup only
    [result] = run_fast_checks(engine, [unkeyed], physical)  # UNIQUE on another column: still scanned
    assert (result.status, result.unexpected_count) == ("fail", 2)


SEGMENTED = JOURNEY.replace("main.events", "events").replace("main.customers", "customers") + """\
segments:
  - segment: searchers
    when: {event: search}
"""
EVENTS_CSV = "event_id,customer_id,event_name,occurred_at\n1,c1,signup,2024-01-01\n2,c1,search,2024-01-02\n"
CUSTOMERS_CSV = "customer_id,signed_up_at\nc1,2024-01-01\nc2,2024-01-02\n"


def test_outputs_setting_builds_the_listed_tables_and_what_they_read(make_project):
    files = {"milestones/onboarding.yml": SEGMENTED, "seeds/events.csv": EVENTS_CSV, "seeds/customers.csv": CUSTOMERS_CSV}
    full = make_project({**files, "clg_project.yml": "name: t\nprofile: test\nvars: {as_of: '2024-03-01'}\n"}, "full")
    some = make_project({**files, "clg_project.yml": "name: t\nprofile: test\nvars: {as_of: '2024-03-01'}\n"
                         "outputs: [funnel, success_gaps]\n"}, "some")
    for root in (full, some):
        code, out = cli("build", "--skip-checks", project_dir=root)
        assert code == 0, out

    def tables(root):
        with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
            return {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                              "WHERE table_schema = 'main'").fetchall()}, con

    built, _ = tables(some)
    assert {"funnel", "success_gaps", "segment_members"} <= built  # success_gaps reads segment_members
    assert not built & {"win_back", "cohort_funnel", "kpi_trend", "segment_funnel", "milestone_status"}
    for table in ("funnel", "success_gaps", "segment_members"):  # and they are the full build's
        with duckdb.connect(str(full / "target" / "test.duckdb"), read_only=True) as a, \
                duckdb.connect(str(some / "target" / "test.duckdb"), read_only=True) as b:
            assert sorted(a.execute(f"SELECT * FROM {table}").fetchall()) == sorted(b.execute(f"SELECT * FROM {table}").fetchall())


def test_an_unknown_output_is_a_located_error(make_project):
    root = make_project({"milestones/onboarding.yml": SEGMENTED, "seeds/events.csv": EVENTS_CSV,
                         "seeds/customers.csv": CUSTOMERS_CSV,
                         "clg_project.yml": "name: t\nprofile: test\noutputs: [funnel, sucess_gaps]\n"})
    code, out = cli("validate", project_dir=root)
    assert code == 2, out
    assert "clg_project.yml" in out and "sucess_gaps" in out and "success_gaps" in out


def test_a_view_passing_the_key_through_inherits_it(setup):
    """A staging view that projects and filters the keyed table: not scanned; one that joins
    (rows may repeat) or computes the column: scanned."""
    engine, checks = setup
    engine.execute("CREATE TABLE keyed2 (event_id BIGINT PRIMARY KEY, customer_id VARCHAR)")
    engine.execute("INSERT INTO keyed2 VALUES (1, 'a'), (2, 'b')")
    engine.execute("CREATE VIEW staged AS SELECT event_id, upper(customer_id) AS who FROM main.keyed2 WHERE event_id > 0")
    engine.execute("CREATE VIEW joined AS SELECT k.event_id FROM main.keyed2 k JOIN main.keyed2 j ON true")
    engine.execute("CREATE VIEW computed AS SELECT event_id * 0 AS event_id FROM main.keyed2")
    unique = next(c for c in checks if c.name == "events.event_id.unique")
    results = {}
    for view in ("staged", "joined", "computed"):
        spec = type(unique)(**{**unique.__dict__, "relation": f"main.{view}"})
        [results[view]] = run_fast_checks(engine, [spec], physical)
    assert results["staged"].hint and "PRIMARY KEY" in results["staged"].hint
    assert (results["joined"].status, results["joined"].unexpected_count, results["joined"].hint) == ("fail", 4, None)
    assert (results["computed"].status, results["computed"].unexpected_count) == ("fail", 2)


def test_declared_keys_on_postgres(postgres_engine):
    """The same catalog reading on PostgreSQL (its view_definition has no CREATE VIEW prefix)."""
    from clg_metrics.checks.derive import CheckSpec

    engine, schema = postgres_engine, postgres_engine.schema
    engine.execute(f"CREATE TABLE {schema}.pk_events (event_id BIGINT PRIMARY KEY, customer_id TEXT)")
    engine.execute(f"CREATE TABLE {schema}.no_pk (event_id BIGINT, customer_id TEXT)")
    engine.execute(f"INSERT INTO {schema}.no_pk VALUES (1, 'a'), (1, 'b')")
    engine.execute(f"CREATE VIEW {schema}.pk_view AS SELECT event_id, customer_id FROM {schema}.pk_events")
    results = {}
    for table in ("pk_events", "no_pk", "pk_view"):
        spec = CheckSpec("u", f"{schema}.{table}", "ExpectColumnValuesToBeUnique", {"column": "event_id"})
        [results[table]] = run_fast_checks(engine, [spec], lambda name: name)
    assert results["pk_events"].hint and results["pk_view"].hint
    assert (results["no_pk"].status, results["no_pk"].unexpected_count, results["no_pk"].hint) == ("fail", 2, None)
