"""Ids of different types in a journey's events and customers sources (issue 11, item 8): named at
build start with both sources, both types and the fix (exit 2, nothing built or published), instead
of the engine's ``Cannot mix values of type VARCHAR and BIGINT in COALESCE``; a header-only seed
has no id type of its own and builds."""

from __future__ import annotations

import duckdb

from conftest import cli

EVENTS_CSV = """\
customer_id,event_name,occurred_at
1,signup,2024-01-01 00:00:00
1,export,2024-01-02 00:00:00
2,signup,2024-01-01 00:00:00
"""
TEXT_EVENTS_CSV = EVENTS_CSV.replace("\n1,", "\nc1,").replace("\n2,", "\nc2,")
CUSTOMERS_CSV = "customer_id,signed_up_at\n1,2024-01-01 00:00:00\n2,2024-01-01 00:00:00\n3,2024-01-02 00:00:00\n"
JOURNEY = """\
journey: onboarding
events: {from: events}
customers: {from: customers}
phases:
  - phase: start
    milestones:
      - milestone: signed_up
        reached_when: {event: signup}
      - milestone: exported
        reached_when: {event: export}
"""
PROJECT_YML = 'name: test_project\nprofile: test\nvars:\n  as_of: "2024-03-01 00:00:00"\n'


def project(make_project, events=EVENTS_CSV, customers=CUSTOMERS_CSV, files=None):
    return make_project({"clg_project.yml": PROJECT_YML, "seeds/events.csv": events, "seeds/customers.csv": customers,
                         "milestones/onboarding.yml": JOURNEY, **(files or {})})


def tables(root) -> set[str]:
    with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
        return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def test_text_event_ids_and_integer_customer_ids_are_named_with_the_fix(make_project):
    root = project(make_project, events=TEXT_EVENTS_CSV)
    code, out = cli("build", project_dir=root)
    assert code == 2, out
    path = root / "milestones" / "onboarding.yml"
    assert (f"{path}:3:19: journey `onboarding` joins its events and customers on the id, and their types differ: "
            "`events.customer_id` is VARCHAR but `customers.customer_id` is BIGINT") in out, out
    assert "cast one to the other's type in a `sql/` model" in out and "CAST(customer_id AS VARCHAR)" in out
    assert "Cannot mix" not in out and "Traceback" not in out
    assert not {"funnel", "progress__onboarding"} & tables(root)  # stopped before any journey ran


def test_a_cast_in_a_sql_model_is_the_fix(make_project):
    fixed = JOURNEY.replace("customers: {from: customers}", "customers: {from: stg_customers}")
    root = project(make_project, events=TEXT_EVENTS_CSV, files={
        "milestones/onboarding.yml": fixed,
        "sql/stg_customers.sql": "SELECT 'c' || CAST(customer_id AS VARCHAR) AS customer_id, signed_up_at FROM customers\n"})
    code, out = cli("build", project_dir=root)
    assert code == 0, out
    with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
        ids = [r[0] for r in con.execute("SELECT customer_id FROM customer_progress ORDER BY 1").fetchall()]
    assert ids == ["c1", "c2", "c3"]


def test_a_header_only_customers_seed_builds(make_project):
    root = project(make_project, customers="customer_id,signed_up_at\n")
    code, out = cli("build", project_dir=root)
    assert code == 0, out
    with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT customer_id, signed_up_at FROM customer_progress ORDER BY 1").fetchall()
        kind = con.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 'customers' "
                           "AND column_name = 'customer_id'").fetchone()
    assert rows == [(1, None), (2, None)]  # every customer comes from the events, none signed up
    assert kind == ("BIGINT",)  # the published seed took the events' id type


def test_a_header_only_events_seed_builds(make_project):
    root = project(make_project, events="customer_id,event_name,occurred_at\n")
    code, out = cli("build", project_dir=root)
    assert code == 0, out
    with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
        reached = con.execute("SELECT milestone, customers_reached FROM funnel ORDER BY milestone_index").fetchall()
    assert reached == [("signed_up", 0), ("exported", 0)]


def test_matching_types_are_no_problem(make_project):
    root = project(make_project)
    code, out = cli("build", project_dir=root)
    assert code == 0, out
