"""``clg-metrics explain``: a hand-worked customer end to end (build, then explain through the CLI),
and, on random journeys, figures that reproduce every published ``reached_at`` and status."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from conftest import cli, output_queries, run_journey_on_duckdb

from clg_metrics.compiler.outputs import BuiltJourney
from hypothesis import HealthCheck, given, settings
from reference_analysis import evaluate_analysis
from strategies import scenarios

JOURNEY = """\
journey: onboarding
events: {from: events}
customers: {from: customers}
phases:
  - phase: start
    milestones:
      - milestone: signed
        reached_when: {event: signup}
      - milestone: first_value
        kpi: 5+ searches and a CSV export
        reached_when:
          all:
            - {event: search, at_least: 5}
            - {event: export, where: {format: csv}}
      - milestone: habit
        reached_when: {per: week, streak: 2, event: login, at_least: 2}
      - milestone: upgrade
        reached_when: {event: upgrade}
        within: {days: 7, of: signup}
segments:
  - segment: engaged
    when:
      all:
        - {event: search, at_least: 5}
        - {customer: {plan: pro}}
  - segment: quiet
    when: {event: login, in_last: {days: 14}, at_most: 0}
"""

EVENTS = """\
customer_id,event_name,occurred_at,format
1,signup,2024-03-04 09:00:00,
1,search,2024-03-04 10:00:00,
1,search,2024-03-05 10:00:00,
1,search,2024-03-06 10:00:00,
1,search,2024-03-07 10:00:00,
1,export,2024-03-05 11:00:00,csv
1,export,2024-03-05 12:00:00,pdf
1,login,2024-03-04 08:00:00,
1,login,2024-03-05 08:00:00,
1,login,2024-03-11 08:00:00,
1,login,2024-03-18 08:00:00,
1,login,2024-03-19 08:00:00,
2,signup,2024-03-04 09:00:00,
2,search,2024-03-04 10:00:00,
2,search,2024-03-05 10:00:00,
2,search,2024-03-06 10:00:00,
2,search,2024-03-07 10:00:00,
2,search,2024-03-08 10:00:00,
2,export,2024-03-06 11:00:00,csv
2,login,2024-03-05 08:00:00,
2,login,2024-03-06 08:00:00,
2,login,2024-03-11 08:00:00,
2,login,2024-03-12 08:00:00,
2,upgrade,2024-03-20 12:00:00,
2,search,2024-05-01 10:00:00,
"""

CUSTOMERS = """\
customer_id,signed_up_at,plan
1,2024-03-04 09:00:00,pro
2,2024-03-04 09:00:00,free
"""


@pytest.fixture
def built(make_project):
    root = make_project({"milestones/onboarding.yml": JOURNEY, "seeds/events.csv": EVENTS,
                         "seeds/customers.csv": CUSTOMERS})
    code, output = cli("build", "--skip-checks", "--as-of", "2024-04-01", project_dir=root)
    assert code == 0, output
    return root


def explained(root: Path, customer: str) -> dict:
    code, output = cli("explain", customer, "--format", "json", project_dir=root)
    assert code == 0, output
    doc = json.loads(output)
    assert doc["explain_version"] == 1
    (journey,) = doc["journeys"]
    return journey


def leaf_figures(node: dict) -> list[tuple]:
    """(count, at_least, holds_from) of the event leaves of a condition tree, in order."""
    if node["kind"] == "event":
        return [(node["count"], node["at_least"], node["holds_from"])]
    return [f for child in node.get("children", []) for f in leaf_figures(child)]


def test_customer_short_of_first_value(built):
    doc = explained(built, "1")
    assert (doc["journey"], doc["customer_id"], doc["as_of"]) == ("onboarding", 1, "2024-04-01 00:00:00")
    signed, first_value, habit, upgrade = doc["milestones"]
    assert (signed["status"], signed["reached_at"]) == ("reached", "2024-03-04 09:00:00")
    assert first_value["status"] == "in_progress" and first_value["reached_at"] is None
    assert first_value["after"] == {"milestone": "signed", "reached_at": "2024-03-04 09:00:00"}
    # 4 of 5 searches; the CSV export (not the PDF one) held from its moment
    assert leaf_figures(first_value["condition"]) == [(4, 5, None), (1, 1, "2024-03-05 11:00:00")]
    assert first_value["condition"]["holds"] is False
    # logins: weeks of Mar 4 (2, held from the 2nd) and Mar 18 (2); Mar 11 has only 1: no run of 2
    assert habit["status"] == "not_eligible"
    per = habit["per"]
    assert [(q["period_start"], q["holds_from"], q["run"]) for q in per["qualifying"]] == [
        ("2024-03-04", "2024-03-05 08:00:00", 1), ("2024-03-18", "2024-03-19 08:00:00", 1)]
    assert (per["longest_run"], per["streak_ends"], per["counts_from"]) == (1, [], None)
    assert (per["shown_period"], per["shown_is_current"]) == ("2024-03-18", False)
    assert leaf_figures(habit["condition"]) == [(2, 2, "2024-03-19 08:00:00")]
    assert upgrade["status"] == "not_eligible"
    assert upgrade["within"] == {"of": "signup", "amount": 7, "unit": "days", "anchor": "2024-03-04 09:00:00",
                                 "deadline": "2024-03-11 09:00:00"}
    engaged, quiet = doc["segments"]
    assert engaged["member"] is False and [c["holds"] for c in engaged["condition"]["children"]] == [False, True]
    assert engaged["condition"]["children"][0]["count"] == 4
    assert quiet["member"] is False and quiet["condition"]["count"] == 2  # logins Mar 18 and 19


def test_customer_with_a_streak_and_a_missed_deadline(built):
    doc = explained(built, "2")
    _, first_value, habit, upgrade = doc["milestones"]
    assert first_value["reached_at"] == "2024-03-08 10:00:00"
    assert leaf_figures(first_value["condition"]) == [(5, 5, "2024-03-08 10:00:00"), (1, 1, "2024-03-06 11:00:00")]
    # the May search is after as_of: not counted
    assert doc["events_counted"] == 12  # signup, 5 searches, export, 4 logins, upgrade
    per = habit["per"]
    assert [q["run"] for q in per["qualifying"]] == [1, 2]
    assert (per["longest_run"], per["streak_ends"], per["counts_from"]) == (2, ["2024-03-11"], "2024-03-04")
    assert (habit["status"], habit["reached_at"]) == ("reached", "2024-03-12 08:00:00")
    assert upgrade["status"] == "missed" and leaf_figures(upgrade["condition"]) == [(1, 1, "2024-03-20 12:00:00")]
    engaged, quiet = doc["segments"]
    assert engaged["member"] is False and [c["holds"] for c in engaged["condition"]["children"]] == [True, False]
    assert quiet["member"] is True and quiet["condition"]["count"] == 0


def test_text_output(built):
    code, output = cli("explain", "1", "--journey", "onboarding", project_dir=built)
    assert code == 0, output
    assert "✗ 4 of 5 search — needs 1 more" in output
    assert "✓ 1 export where format = csv (needs 1) — held from 2024-03-05 11:00:00, the 1st" in output
    assert "✗ in_progress" in output and "longest run 1" in output
    assert "deadline 2024-03-11 09:00:00" in output


def test_unknown_customer_and_journey(built):
    code, output = cli("explain", "99", project_dir=built)
    assert code == 2 and "no customer `99`" in output and "clg-metrics show customer_progress" in output
    code, output = cli("explain", "1", "--journey", "onbording", project_dir=built)
    assert code == 2 and "did you mean `onboarding`?" in output


def test_before_any_build(make_project):
    root = make_project({"milestones/onboarding.yml": JOURNEY, "seeds/events.csv": EVENTS,
                         "seeds/customers.csv": CUSTOMERS})
    code, output = cli("explain", "1", project_dir=root)
    assert code == 2 and "clg-metrics build" in output


# ----------------------------------------------------------------------------- agreement, random


@pytest.fixture(scope="module")
def engine():
    from clg_metrics.engines.duckdb import DuckDBEngine
    from clg_metrics.profiles import DuckDBTarget

    eng = DuckDBEngine(DuckDBTarget(type="duckdb", path=":memory:"), Path("."))
    yield eng
    eng.close()


def publish_on(engine, journey: dict, events, customers, as_of):
    """The scenario's events, customers, progress, milestone_status and customer_progress tables."""
    from clg_metrics.spec import Journey

    run_journey_on_duckdb(journey, events, customers, as_of, con=engine.con)
    doc = {**journey, "events": {"from": "events"}}
    doc.pop("customers", None)
    if customers is not None:
        doc["customers"] = {"from": "customers"}
    spec = Journey.model_validate(doc)
    queries = output_queries([BuiltJourney(spec, "progress")], as_of)
    for name in ("milestone_status", "customer_progress"):
        engine.con.execute(f"CREATE OR REPLACE TABLE {name} AS {queries[name].sql('duckdb')}")
    return spec


def recomputed_reached_at(doc: dict, m: dict, sequential: bool) -> datetime | None:
    """The milestone's reached_at from the explanation's figures alone (SPEC §2's algebra)."""
    i = m["index"]
    previous = doc["milestones"][i - 2]["reached_at"] if sequential and i > 1 else None
    if sequential and i > 1 and previous is None:
        return None
    if m["per"] is None:
        raw = m["condition"]["holds_from"]
        if raw is not None and previous is not None:
            raw = max(raw, previous)
    else:
        per = m["per"]
        gate = per["counts_from"]
        candidates = [q["holds_from"] if previous is None else max(q["holds_from"], previous)
                      for q in per["qualifying"]
                      if q["run"] >= per["streak"] and (gate is None or q["period_start"] >= gate)]
        raw = min(candidates, default=None)
    within = m["within"]
    if within is not None and (within["anchor"] is None or raw is None or raw > within["deadline"]):
        raw = None
    return raw


def consistent(node: dict, kind: str = "milestone") -> None:
    """Each node's mark agrees with its own figures and its children's."""
    children = node.get("children", [])
    if node["kind"] == "event":
        if kind == "milestone":
            assert node["holds"] == (node["count"] >= node["at_least"]) == (node["holds_from"] is not None), node
        else:
            fits = node["count"] >= node["at_least"] and (node["at_most"] is None or node["count"] <= node["at_most"])
            assert node["holds"] == fits, node
    elif node["kind"] == "all":
        assert node["holds"] == all(c["holds"] for c in children), node
    elif node["kind"] == "any":
        assert node["holds"] == any(c["holds"] for c in children), node
    elif node["kind"] == "not":
        assert node["holds"] == (not children[0]["holds"]), node
    for child in children:
        consistent(child, kind)


@settings(max_examples=int(os.environ.get("CLG_PROPERTY_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(scenarios(with_analysis=True))
def test_explanations_agree_with_milestone_status(engine, scenario):
    from clg_metrics.explain import Published, explain_journey

    journey, events, customers, as_of = scenario
    spec = publish_on(engine, journey, events, customers, as_of)
    _, rows = engine.fetch("SELECT customer_id, milestone_index, reached_at, status FROM milestone_status")
    published = {(c, i): (r, s) for c, i, r, s in rows}
    members = {(r["segment"], r["customer_id"]) for r in
               evaluate_analysis(journey, events, customers, as_of)["segment_members"]}
    sequential = spec.order == "sequential"
    for customer in sorted({c for c, _ in published}):
        doc = explain_journey(Published(engine, lambda name: None), spec, str(customer), as_of)
        assert doc["customer_id"] == customer
        for m in doc["milestones"]:
            assert (m["reached_at"], m["status"]) == published[(customer, m["index"])]
            assert recomputed_reached_at(doc, m, sequential) == m["reached_at"], m
            consistent(m["condition"])
        for s in doc["segments"]:
            assert s["member"] == ((s["segment"], customer) in members), s
            consistent(s["condition"], "segment")
    assert explain_journey(Published(engine, lambda name: None), spec, "no such customer", as_of) is None


def _rows(text: str) -> list[dict]:
    import csv
    import io

    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        rows.append({k: (int(v) if k == "customer_id" else datetime.fromisoformat(v) if k.endswith("_at") else v or None)
                     for k, v in row.items()})
    return rows


def test_postgres_explains_like_duckdb(engine, postgres_engine):
    """The hand-worked journey on PostgreSQL: the same documents as on DuckDB."""
    import yaml
    from conftest import run_journey_on_engine

    from clg_metrics.explain import Published, explain_journey
    from clg_metrics.models import renamed

    journey, events, customers = yaml.safe_load(JOURNEY), _rows(EVENTS), _rows(CUSTOMERS)
    as_of = datetime(2024, 4, 1)
    spec = publish_on(engine, journey, events, customers, as_of)
    pg = postgres_engine
    run_journey_on_engine(pg, journey, events, customers, as_of)
    qualified = lambda name: f"{pg.schema}.{name}"
    for name, query in output_queries([BuiltJourney(spec, "progress")], as_of).items():
        if name in ("milestone_status", "customer_progress"):
            pg.create_table_as(name, renamed(query, qualified))
    for customer in ("1", "2"):
        expected = explain_journey(Published(engine, lambda name: None), spec, customer, as_of)
        assert explain_journey(Published(pg, qualified), spec, customer, as_of) == expected
