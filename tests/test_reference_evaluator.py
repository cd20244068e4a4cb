"""Hand-computed cases for the reference evaluator (tests/reference_evaluator.py) itself."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from fractions import Fraction

from hypothesis import HealthCheck, given, settings

from reference_evaluator import evaluate, round2
from strategies import scenarios

try:
    from clg_metrics.spec import Journey as SpecJourney
except ImportError:  # the system python may not have the package installed
    SpecJourney = None

AS_OF = datetime(2024, 4, 30)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def ev(cid, name, when: str, **extra) -> dict:
    return {"customer_id": cid, "event_name": name, "occurred_at": ts(when), **extra}


def ms(name: str, reached_when: dict, **extra) -> dict:
    return {"milestone": name, "reached_when": reached_when, **extra}


def journey(*milestones: dict, order: str | None = None, phases: list[dict] | None = None) -> dict:
    doc: dict = {"journey": "j", "events": {"from": "events"}}
    if order:
        doc["order"] = order
    doc["phases"] = phases if phases is not None else [{"phase": "p", "milestones": list(milestones)}]
    return doc


def cell(out: dict, cid, milestone: str, column: str = "reached_at"):
    rows = [r for r in out["milestone_status"] if r["customer_id"] == cid and r["milestone"] == milestone]
    assert len(rows) == 1
    return rows[0][column]


def progress(out: dict, cid) -> dict:
    (row,) = [r for r in out["customer_progress"] if r["customer_id"] == cid]
    return row


def funnel(out: dict, milestone: str) -> dict:
    (row,) = [r for r in out["funnel"] if r["milestone"] == milestone]
    return row


# ----------------------------------------------------------------------------- event leaves


def test_event_leaf_at_least_name_list_and_as_of():
    j = journey(ms("three_a", {"event": "a", "at_least": 3}),
                ms("two_of_a_or_b", {"event": ["a", "b"], "at_least": 2}), order="independent")
    events = [
        ev(1, "b", "2024-03-01 09:00"),
        ev(1, "a", "2024-03-01 10:00"),
        ev(1, "a", "2024-03-02 10:00"),
        ev(1, "a", "2024-03-03 10:00"),
        ev(1, "a", "2024-03-05 10:00"),
        {"customer_id": 1, "event_name": "a", "occurred_at": None},
        {"customer_id": None, "event_name": "a", "occurred_at": ts("2024-03-01 00:00")},
        {"customer_id": 1, "event_name": None, "occurred_at": ts("2024-03-01 00:00")},
    ]
    out = evaluate(j, events, None, as_of=ts("2024-03-03 10:00"))  # an event exactly at as_of counts
    assert cell(out, 1, "three_a") == ts("2024-03-03 10:00")
    assert cell(out, 1, "two_of_a_or_b") == ts("2024-03-01 10:00")
    assert [r["customer_id"] for r in out["customer_progress"]] == [1]

    out = evaluate(j, events, None, as_of=ts("2024-03-03 09:59:59"))
    assert cell(out, 1, "three_a") is None
    assert cell(out, 1, "three_a", "status") == "in_progress"
    assert cell(out, 1, "three_a", "is_reached") is False


def test_where_mapping_filters_with_sql_null_semantics():
    events = [
        ev(1, "a", "2024-03-01 01:00", format="csv", value="5", n=1),
        ev(1, "a", "2024-03-01 02:00", format=None, value=None, n=None),
        ev(1, "a", "2024-03-01 03:00", format="pdf", value="6", n=2),
        ev(1, "a", "2024-03-01 04:00", format="csv", value="6", n=3),
        ev(1, "b", "2024-03-01 05:00", format="csv", value="5", n=9),
    ]
    cases = {
        "eq": ({"where": {"format": "csv"}, "at_least": 2}, "2024-03-01 04:00"),
        "in_list": ({"where": {"format": {"in": ["csv", "pdf"]}}, "at_least": 2}, "2024-03-01 03:00"),
        "ne_skips_null": ({"where": {"format": {"ne": "csv"}}}, "2024-03-01 03:00"),
        "anded": ({"where": {"format": "csv", "value": "5"}}, "2024-03-01 01:00"),
        "anded_none": ({"where": {"format": "pdf", "value": "5"}}, None),
        "gte": ({"where": {"n": {"gte": 2}}, "at_least": 2}, "2024-03-01 04:00"),
        "gt": ({"where": {"n": {"gt": 2}}}, "2024-03-01 04:00"),
        "lt": ({"where": {"n": {"lt": 2}}}, "2024-03-01 01:00"),
        "lte_null_skipped": ({"where": {"n": {"lte": 1}}, "at_least": 2}, None),
        "range": ({"where": {"n": {"gt": 1, "lt": 3}}}, "2024-03-01 03:00"),
        "missing_column": ({"where": {"nope": "x"}}, None),
    }
    j = journey(*[ms(name, {"event": "a", **leaf}) for name, (leaf, _) in cases.items()], order="independent")
    out = evaluate(j, events, None, AS_OF)
    for name, (_, expected) in cases.items():
        assert cell(out, 1, name) == (ts(expected) if expected else None), name


def test_distinct_counts_first_appearance_of_nth_non_null_value():
    events = [
        ev(1, "a", "2024-03-01 01:00", value="x"),
        ev(1, "a", "2024-03-01 02:00", value="x"),
        ev(1, "a", "2024-03-01 03:00", value=None),
        ev(1, "a", "2024-03-01 04:00", value="y"),
        ev(1, "b", "2024-03-01 04:30", value="w"),  # another event name: not counted
        ev(1, "a", "2024-03-01 05:00", value="x"),
        ev(1, "a", "2024-03-01 06:00", value="z", format="pdf"),
    ]
    j = journey(
        ms("two", {"event": "a", "distinct": "value", "at_least": 2}),
        ms("three", {"event": "a", "distinct": "value", "at_least": 3}),
        ms("four", {"event": "a", "distinct": "value", "at_least": 4}),
        ms("one_pdf", {"event": "a", "distinct": "value", "where": {"format": "pdf"}}),
        order="independent",
    )
    out = evaluate(j, events, None, AS_OF)
    assert cell(out, 1, "two") == ts("2024-03-01 04:00")
    assert cell(out, 1, "three") == ts("2024-03-01 06:00")
    assert cell(out, 1, "four") is None
    assert cell(out, 1, "one_pdf") == ts("2024-03-01 06:00")


# ----------------------------------------------------------------------------- all / any / milestone


def test_all_any_nested():
    events = [ev(1, "a", "2024-03-01 01:00"), ev(1, "b", "2024-03-01 02:00"),
              ev(1, "a", "2024-03-01 03:00"), ev(1, "c", "2024-03-01 05:00")]
    j = journey(
        ms("m1", {"all": [{"event": "a", "at_least": 2}, {"event": "b"}]}),
        ms("m2", {"any": [{"event": "c"}, {"event": "a", "at_least": 2}]}),
        ms("m3", {"any": [{"event": "d"}, {"all": [{"event": "b"}, {"event": "c"}]}]}),
        ms("m4", {"all": [{"event": "a"}, {"any": [{"event": "d"}, {"event": "b", "at_least": 2}]}]}),
        order="independent",
    )
    out = evaluate(j, events, None, AS_OF)
    assert cell(out, 1, "m1") == ts("2024-03-01 03:00")  # the latest child
    assert cell(out, 1, "m2") == ts("2024-03-01 03:00")  # the earliest child
    assert cell(out, 1, "m3") == ts("2024-03-01 05:00")
    assert cell(out, 1, "m4") is None


def test_milestone_reference_independent_dependency_order_and_final_reached_at():
    j = journey(
        ms("m1", {"all": [{"milestone": "m2"}, {"event": "a"}]}),  # refers to a later milestone
        ms("m2", {"event": "b", "at_least": 2}),
        ms("m3", {"event": "c"}, within={"hours": 1, "of": "signup"}),
        ms("m4", {"any": [{"milestone": "m3"}, {"event": "d"}]}),
        order="independent",
    )
    events = [ev(1, "a", "2024-03-01 01:00"), ev(1, "b", "2024-03-01 02:00"), ev(1, "b", "2024-03-01 04:00"),
              ev(1, "c", "2024-03-01 02:00"), ev(1, "d", "2024-03-01 10:00")]
    customers = [{"customer_id": 1, "signed_up_at": ts("2024-03-01 00:00")}]
    out = evaluate({**j, "customers": {"from": "customers"}}, events, customers, AS_OF)
    assert cell(out, 1, "m2") == ts("2024-03-01 04:00")
    assert cell(out, 1, "m1") == ts("2024-03-01 04:00")
    # c came 2h after signup: m3 is not reached, so the reference to it never holds
    assert cell(out, 1, "m3") is None
    assert cell(out, 1, "m3", "status") == "missed"
    assert cell(out, 1, "m4") == ts("2024-03-01 10:00")


# ----------------------------------------------------------------------------- per / streak


def test_per_day_streak_two():
    j = journey(ms("m", {"per": "day", "streak": 2, "event": "a", "at_least": 2}),
                ms("same_day", {"per": "day", "event": "a", "at_least": 2}), order="independent")
    events = [
        # 1: day 1 qualifies at 11:00, day 2 at 15:00 -> reached at day 2's moment
        ev(1, "a", "2024-03-01 10:00"), ev(1, "a", "2024-03-01 11:00"),
        ev(1, "a", "2024-03-02 09:00"), ev(1, "a", "2024-03-02 15:00"),
        # 2: a gap day breaks the streak
        ev(2, "a", "2024-03-01 10:00"), ev(2, "a", "2024-03-01 11:00"),
        ev(2, "a", "2024-03-03 09:00"), ev(2, "a", "2024-03-03 15:00"),
        # 3: day 2 does not qualify (one event), days 3 and 4 do
        ev(3, "a", "2024-03-01 10:00"), ev(3, "a", "2024-03-01 11:00"), ev(3, "a", "2024-03-02 09:00"),
        ev(3, "a", "2024-03-03 01:00"), ev(3, "a", "2024-03-03 02:00"),
        ev(3, "a", "2024-03-04 05:00"), ev(3, "a", "2024-03-04 06:00"),
        # 4: two events either side of midnight are on different days
        ev(4, "a", "2024-03-01 23:00"), ev(4, "a", "2024-03-02 01:00"),
    ]
    out = evaluate(j, events, None, AS_OF)
    assert cell(out, 1, "m") == ts("2024-03-02 15:00")
    assert cell(out, 2, "m") is None
    assert cell(out, 3, "m") == ts("2024-03-04 06:00")
    assert cell(out, 4, "same_day") is None
    assert cell(out, 1, "same_day") == ts("2024-03-01 11:00")


def test_per_week_starts_monday():
    j = journey(ms("two_in_a_week", {"per": "week", "event": "a", "at_least": 2}),
                ms("two_weeks", {"event": "a"}, per="week", streak=2), order="independent")
    events = [
        ev(1, "a", "2024-03-03 20:00"),  # Sunday
        ev(1, "a", "2024-03-04 08:00"),  # Monday: a new week
        ev(2, "a", "2024-03-04 00:00:00"),  # Monday
        ev(2, "a", "2024-03-10 23:59:59"),  # Sunday of the same week
    ]
    out = evaluate(j, events, None, AS_OF)
    assert cell(out, 1, "two_in_a_week") is None
    assert cell(out, 2, "two_in_a_week") == ts("2024-03-10 23:59:59")
    assert cell(out, 1, "two_weeks") == ts("2024-03-04 08:00")
    assert cell(out, 2, "two_weeks") is None


def test_per_month_streak_on_milestone_crossing_month_and_year():
    j = journey(ms("m", {"event": "a"}, per="month", streak=2),
                ms("two_in_month", {"event": "a", "at_least": 2, "per": "month"}), order="independent")
    events = [
        ev(1, "a", "2024-02-29 23:59:59"), ev(1, "a", "2024-03-01 00:00:00"),
        ev(2, "a", "2024-01-31 12:00"), ev(2, "a", "2024-03-01 12:00"),  # February empty
        ev(3, "a", "2023-12-15 12:00"), ev(3, "a", "2024-01-10 12:00"),
    ]
    out = evaluate(j, events, None, AS_OF)
    assert cell(out, 1, "m") == ts("2024-03-01 00:00:00")
    assert cell(out, 2, "m") is None
    assert cell(out, 3, "m") == ts("2024-01-10 12:00")
    assert cell(out, 1, "two_in_month") is None


def test_per_under_sequential_previous_reached_mid_period_and_at_period_end():
    milestones = [ms("m1", {"event": "b"}), ms("m2", {"per": "day", "event": "a", "at_least": 2})]
    events = [
        # 1: day qualifies from 09:00 until midnight; m1 at 12:00 -> m2 at 12:00
        ev(1, "a", "2024-03-01 08:00"), ev(1, "a", "2024-03-01 09:00"), ev(1, "b", "2024-03-01 12:00"),
        # 2: m1 exactly at the end of the qualifying day (= next day's start): not reached
        ev(2, "a", "2024-03-01 08:00"), ev(2, "a", "2024-03-01 09:00"), ev(2, "b", "2024-03-02 00:00:00"),
        # 3: as 2, but the next day qualifies too
        ev(3, "a", "2024-03-01 08:00"), ev(3, "a", "2024-03-01 09:00"), ev(3, "b", "2024-03-02 00:00:00"),
        ev(3, "a", "2024-03-02 10:00"), ev(3, "a", "2024-03-02 11:00"),
        # 4: m1 first: m2 at its own moment
        ev(4, "b", "2024-03-01 07:00"), ev(4, "a", "2024-03-01 08:00"), ev(4, "a", "2024-03-01 09:00"),
    ]
    out = evaluate(journey(*milestones), events, None, AS_OF)
    assert cell(out, 1, "m2") == ts("2024-03-01 12:00")
    assert cell(out, 2, "m2") is None
    assert cell(out, 2, "m2", "status") == "in_progress"
    assert cell(out, 3, "m2") == ts("2024-03-02 11:00")
    assert cell(out, 4, "m2") == ts("2024-03-01 09:00")

    out = evaluate(journey(*milestones, order="independent"), events, None, AS_OF)
    assert cell(out, 2, "m2") == ts("2024-03-01 09:00")
    assert cell(out, 1, "m2") == ts("2024-03-01 09:00")


# ----------------------------------------------------------------------------- order


def test_sequential_versus_independent():
    milestones = [ms("m1", {"event": "a"}), ms("m2", {"event": "b"}), ms("m3", {"event": "c"})]
    events = [ev(1, "b", "2024-03-01 01:00"), ev(1, "a", "2024-03-01 02:00"), ev(1, "c", "2024-03-01 03:00"),
              ev(2, "c", "2024-03-01 01:00")]
    seq = evaluate(journey(*milestones), events, None, AS_OF)
    assert [cell(seq, 1, m) for m in ("m1", "m2", "m3")] == [
        ts("2024-03-01 02:00"), ts("2024-03-01 02:00"), ts("2024-03-01 03:00")]
    assert [cell(seq, 2, m, "status") for m in ("m1", "m2", "m3")] == ["in_progress", "not_eligible", "not_eligible"]
    assert [cell(seq, 2, m) for m in ("m1", "m2", "m3")] == [None, None, None]

    ind = evaluate(journey(*milestones, order="independent"), events, None, AS_OF)
    assert [cell(ind, 1, m) for m in ("m1", "m2", "m3")] == [
        ts("2024-03-01 02:00"), ts("2024-03-01 01:00"), ts("2024-03-01 03:00")]
    assert [cell(ind, 2, m, "status") for m in ("m1", "m2", "m3")] == ["in_progress", "in_progress", "reached"]


def test_ties_resolve_to_the_same_timestamp():
    j = journey(ms("m1", {"event": "a", "at_least": 2}), ms("m2", {"all": [{"event": "a"}, {"event": "b"}]}))
    events = [ev(1, "a", "2024-03-01 10:00"), ev(1, "a", "2024-03-01 10:00"), ev(1, "b", "2024-03-01 10:00")]
    out = evaluate(j, events, None, AS_OF)
    assert cell(out, 1, "m1") == cell(out, 1, "m2") == ts("2024-03-01 10:00")
    assert funnel(out, "m2")["median_days_from_previous"] == 0.0


# ----------------------------------------------------------------------------- within and statuses


def test_within_signup_inclusive_and_anchor_null():
    j = {**journey(ms("m", {"event": "a"}, within={"days": 2, "of": "signup"})), "customers": {"from": "customers"}}
    events = [
        ev(1, "a", "2024-03-03 00:00:00"),  # exactly 2 days after signup: counts
        ev(2, "a", "2024-03-03 00:00:01"),  # one second late
        ev(3, "a", "2024-03-01 12:00"),  # signup NULL
        ev(4, "a", "2024-03-01 12:00"),  # not in customers
        ev(5, "a", "2024-02-20 12:00"),  # before signup: still counts
    ]
    customers = [{"customer_id": c, "signed_up_at": ts("2024-03-01 00:00")} for c in (1, 2, 5)]
    customers.append({"customer_id": 3, "signed_up_at": None})
    out = evaluate(j, events, customers, AS_OF)
    assert cell(out, 1, "m") == ts("2024-03-03 00:00:00")
    assert cell(out, 2, "m") is None
    assert cell(out, 2, "m", "status") == "missed"
    assert cell(out, 3, "m", "status") == "not_eligible"
    assert cell(out, 4, "m", "status") == "not_eligible"
    assert cell(out, 5, "m") == ts("2024-02-20 12:00")

    out = evaluate(j, events, None, AS_OF)  # no customers source at all: no signup anchor
    assert {r["status"] for r in out["milestone_status"]} == {"not_eligible"}
    assert {r["signed_up_at"] for r in out["customer_progress"]} == {None}


def test_within_previous_and_milestone_anchor_and_top_of_reached_when():
    seq = journey(ms("m1", {"event": "a"}), ms("m2", {"event": "b", "within": {"hours": 3, "of": "previous"}}))
    events = [ev(1, "a", "2024-03-01 10:00"), ev(1, "b", "2024-03-01 13:00"),
              ev(2, "a", "2024-03-01 10:00"), ev(2, "b", "2024-03-01 13:00:01")]
    out = evaluate(seq, events, None, AS_OF)
    assert cell(out, 1, "m2") == ts("2024-03-01 13:00")
    assert cell(out, 2, "m2") is None
    assert cell(out, 2, "m2", "status") == "missed"

    ind = journey(ms("m1", {"event": "a"}), ms("m2", {"event": "b"}),
                  ms("m3", {"event": "c"}, within={"minutes": 30, "of": "m1"}), order="independent")
    events = [ev(1, "a", "2024-03-01 10:00"), ev(1, "c", "2024-03-01 10:30"),
              ev(2, "c", "2024-03-01 10:30"),  # anchor m1 unreached
              ev(3, "c", "2024-03-01 09:00"), ev(3, "a", "2024-03-01 10:00")]  # before the anchor: counts
    out = evaluate(ind, events, None, AS_OF)
    assert cell(out, 1, "m3") == ts("2024-03-01 10:30")
    assert cell(out, 2, "m3") is None
    assert cell(out, 2, "m3", "status") == "not_eligible"
    assert cell(out, 3, "m3") == ts("2024-03-01 09:00")


def test_status_missed_is_strict_and_not_eligible_comes_first():
    j = {**journey(ms("m1", {"event": "a", "within": {"days": 1, "of": "signup"}})),
         "customers": {"from": "customers"}}
    customers = [{"customer_id": 1, "signed_up_at": ts("2024-03-01 00:00")}]
    assert cell(evaluate(j, [], customers, ts("2024-03-02 00:00:00")), 1, "m1", "status") == "in_progress"
    assert cell(evaluate(j, [], customers, ts("2024-03-02 00:00:01")), 1, "m1", "status") == "missed"

    j = {**journey(ms("m1", {"event": "b"}), ms("m2", {"event": "a"}, within={"days": 1, "of": "signup"})),
         "customers": {"from": "customers"}}
    customers = [{"customer_id": 1, "signed_up_at": ts("2024-02-01 00:00")}]
    out = evaluate(j, [ev(1, "a", "2024-02-01 01:00")], customers, AS_OF)
    assert cell(out, 1, "m1", "status") == "in_progress"
    assert cell(out, 1, "m2", "status") == "not_eligible"  # not "missed"


# ----------------------------------------------------------------------------- customers and outputs


def test_customers_without_events_duplicates_and_presence():
    j = journey(ms("m1", {"event": "a"}))
    customers = [
        {"customer_id": 1, "signed_up_at": ts("2024-03-05 00:00")},
        {"customer_id": 1, "signed_up_at": ts("2024-03-02 00:00")},
        {"customer_id": 1, "signed_up_at": None},
        {"customer_id": 2, "signed_up_at": None},
        {"customer_id": None, "signed_up_at": ts("2024-03-01 00:00")},
        {"customer_id": 3, "signed_up_at": ts("2024-06-01 00:00")},  # after as_of: still present
    ]
    events = [ev(4, "a", "2024-03-01 00:00"), ev(5, "a", "2024-05-01 00:00")]  # 5 only after as_of
    out = evaluate(j, events, customers, AS_OF)
    rows = {r["customer_id"]: r for r in out["customer_progress"]}
    assert list(rows) == [1, 2, 3, 4]
    assert rows[1]["signed_up_at"] == ts("2024-03-02 00:00")
    assert rows[2]["signed_up_at"] is None
    assert rows[3]["signed_up_at"] == ts("2024-06-01 00:00")
    assert rows[4]["signed_up_at"] is None
    assert rows[1]["milestones_reached"] == 0 and rows[4]["milestones_reached"] == 1
    assert len(out["milestone_status"]) == 4
    assert funnel(out, "m1")["customers_reached"] == 1
    assert funnel(out, "m1")["pct_of_first"] == 100.0

    out = evaluate(j, events, None, AS_OF)
    assert [r["customer_id"] for r in out["customer_progress"]] == [4]


def test_customer_progress_current_next_and_days_since_progress():
    j = journey(order="independent", phases=[
        {"phase": "struggle", "milestones": [ms("m1", {"event": "a"}), ms("m2", {"event": "b"}, kpi="B")]},
        {"phase": "growth", "milestones": [ms("m3", {"event": "c"})]},
    ])
    events = [
        ev(1, "c", "2024-04-29 21:00"),  # 3 hours before as_of: 0.125 days -> 0.13
        ev(3, "a", "2024-04-29 00:00"), ev(3, "b", "2024-04-28 00:00"),
    ]
    out = evaluate(j, events, [{"customer_id": 2, "signed_up_at": None}], AS_OF)
    assert progress(out, 1) == {
        "journey": "j", "customer_id": 1, "signed_up_at": None, "milestones_reached": 1,
        "current_milestone": "m3", "current_phase": "growth", "current_reached_at": ts("2024-04-29 21:00"),
        "next_milestone": None, "days_since_progress": 0.13,
    }
    assert progress(out, 2)["current_milestone"] is None
    assert progress(out, 2)["next_milestone"] == "m1"
    assert progress(out, 2)["days_since_progress"] is None
    p3 = progress(out, 3)
    assert (p3["milestones_reached"], p3["current_milestone"], p3["current_phase"], p3["next_milestone"]) == (
        2, "m2", "struggle", "m3")
    assert p3["current_reached_at"] == ts("2024-04-28 00:00")
    assert p3["days_since_progress"] == 2.0
    row = [r for r in out["milestone_status"] if r["customer_id"] == 3 and r["milestone"] == "m2"][0]
    assert row == {"journey": "j", "customer_id": 3, "phase": "struggle", "milestone": "m2", "milestone_index": 2,
                   "kpi": "B", "reached_at": ts("2024-04-28 00:00"), "is_reached": True, "status": "reached"}

    out = evaluate(journey(ms("m1", {"event": "a"})), [ev(1, "a", "2024-04-01")], None, AS_OF)
    assert progress(out, 1)["next_milestone"] is None  # all reached


def test_funnel_percentages_half_away_from_zero_and_even_median():
    j = journey(ms("m1", {"event": "a"}), ms("m2", {"event": "b"}), ms("m3", {"event": "c"}))
    events = [ev(c, "a", "2024-03-01 00:00") for c in range(1, 33)]  # 32 customers reach m1
    events += [ev(1, "b", "2024-03-02 00:00"), ev(2, "b", "2024-03-02 06:00"),  # gaps 24h, 30h,
               ev(3, "b", "2024-03-01 01:00"), ev(4, "b", "2024-03-05 04:00")]  # 1h, 100h
    events += [ev(1, "c", "2024-03-02 06:00")]  # 6h after its m2
    out = evaluate(j, events, None, AS_OF)
    f1, f2, f3 = funnel(out, "m1"), funnel(out, "m2"), funnel(out, "m3")
    assert f1 == {"journey": "j", "milestone_index": 1, "phase": "p", "milestone": "m1", "kpi": None,
                  "customers_reached": 32, "pct_of_first": 100.0, "pct_of_previous": None,
                  "dropped_from_previous": None, "median_days_from_previous": None}
    assert (f2["customers_reached"], f2["pct_of_first"], f2["pct_of_previous"], f2["dropped_from_previous"]) == (
        4, 12.5, 12.5, 28)
    assert f2["median_days_from_previous"] == 1.13  # (24h + 30h) / 2 = 1.125 days, half away from zero
    # 1/32 = 3.125 %: half away from zero gives 3.13 (Python's round(3.125, 2) would give 3.12)
    assert (f3["customers_reached"], f3["pct_of_first"], f3["pct_of_previous"], f3["dropped_from_previous"]) == (
        1, 3.13, 25.0, 3)
    assert f3["median_days_from_previous"] == 0.25


def test_funnel_two_thirds_and_zero_denominators():
    j = journey(ms("m1", {"event": "a"}), ms("m2", {"event": "b"}), ms("m3", {"event": "c"}), order="independent")
    events = [ev(c, "a", "2024-03-01") for c in (1, 2, 3)] + [ev(1, "b", "2024-03-02"), ev(2, "b", "2024-03-03")]
    events += [ev(4, "c", "2024-03-01")]
    out = evaluate(j, events, None, AS_OF)
    assert funnel(out, "m2")["pct_of_first"] == 66.67
    assert funnel(out, "m2")["pct_of_previous"] == 66.67
    assert funnel(out, "m2")["median_days_from_previous"] == 1.5
    f3 = funnel(out, "m3")
    assert (f3["customers_reached"], f3["pct_of_first"], f3["pct_of_previous"], f3["dropped_from_previous"]) == (
        1, 33.33, 50.0, 1)
    assert f3["median_days_from_previous"] is None  # nobody reached both m2 and m3

    out = evaluate(j, [], None, AS_OF)  # no customers at all: zero counts, not an error
    assert out["milestone_status"] == [] and out["customer_progress"] == []
    assert [(r["customers_reached"], r["pct_of_first"], r["pct_of_previous"], r["dropped_from_previous"])
            for r in out["funnel"]] == [(0, None, None, None), (0, None, None, 0), (0, None, None, 0)]

    out = evaluate(journey(), [ev(1, "a", "2024-03-01")], None, AS_OF)  # a journey without milestones
    assert out["funnel"] == [] and out["milestone_status"] == []
    assert progress(out, 1)["milestones_reached"] == 0 and progress(out, 1)["next_milestone"] is None


def test_round2_is_half_away_from_zero_on_the_exact_value():
    assert round2(Fraction(1, 8)) == 0.13
    assert round2(Fraction(-1, 8)) == -0.13
    assert round2(Fraction(2, 3)) == 0.67
    assert round2(Fraction(100, 3)) == 33.33
    assert round2(Fraction(1, 200)) == 0.01  # 0.005
    assert round2(Fraction(1, 201)) == 0.0


# ----------------------------------------------------------------------------- speed and strategies


def test_fast_enough_on_a_small_data_set():
    j = journey(
        ms("m1", {"any": [{"event": "a", "at_least": 2}, {"event": "b", "distinct": "value", "at_least": 2}]}),
        ms("m2", {"per": "week", "streak": 2, "all": [{"event": "a"}, {"any": [{"event": "c"}, {"event": "d"}]}]}),
        ms("m3", {"all": [{"milestone": "m1"}, {"event": "c", "at_least": 3, "where": {"format": "csv"}}]}),
        ms("m4", {"event": ["a", "d"], "at_least": 3}, per="day", streak=3, within={"days": 10, "of": "m2"}),
    )
    start = datetime(2024, 2, 20)
    events = [ev(c, "abcd"[(i * 7 + c) % 4], str(start + timedelta(hours=17 * i + c)),
                 format=["csv", "pdf", None][i % 3], value=["x", "y", None][(i + c) % 3])
              for c in range(1, 6) for i in range(30)]
    t0 = time.perf_counter()
    evaluate(j, events, None, AS_OF)
    evaluate({**j, "order": "independent"}, events, None, AS_OF)
    assert time.perf_counter() - t0 < 1.0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_strategies_give_valid_journeys_and_sane_results(scenario):
    journey_doc, events, customers, as_of = scenario
    if SpecJourney is not None:
        SpecJourney.model_validate(journey_doc)  # the strategies give valid journeys
    out = evaluate(journey_doc, events, customers, as_of)
    n_milestones = sum(len(p["milestones"]) for p in journey_doc["phases"])
    assert len(out["milestone_status"]) == n_milestones * len(out["customer_progress"])
    for row in out["milestone_status"]:
        assert row["reached_at"] is None or row["reached_at"] <= as_of
        assert row["is_reached"] == (row["reached_at"] is not None)
        assert (row["status"] == "reached") == row["is_reached"]
    counts = [r["customers_reached"] for r in out["funnel"]]
    if journey_doc.get("order", "sequential") == "sequential":
        assert counts == sorted(counts, reverse=True)
