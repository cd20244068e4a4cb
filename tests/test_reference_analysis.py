"""Hand-worked cases for the SPEC §4 reference evaluator (tests/reference_analysis.py) itself."""

from __future__ import annotations

from datetime import date, datetime

from hypothesis import HealthCheck, given, settings
from reference_analysis import ANALYSIS_TABLES, evaluate_all, evaluate_analysis
from reference_evaluator import evaluate
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


def cu(cid, signed: str | None, **extra) -> dict:
    return {"customer_id": cid, "signed_up_at": ts(signed) if signed else None, **extra}


def ms(name: str, reached_when: dict, **extra) -> dict:
    return {"milestone": name, "reached_when": reached_when, **extra}


def journey(*milestones: dict, segments: dict | None = None, analysis: dict | None = None,
            customers: bool = True, order: str | None = None) -> dict:
    doc: dict = {"journey": "j", "events": {"from": "events"}}
    if customers:
        doc["customers"] = {"from": "customers"}
    if order:
        doc["order"] = order
    doc["phases"] = [{"phase": "p", "milestones": list(milestones)}]
    if segments:
        doc["segments"] = [{"segment": name, "when": when} for name, when in segments.items()]
    if analysis:
        doc["analysis"] = analysis
    return doc


def members(out: dict) -> dict[str, list]:
    got: dict[str, list] = {}
    for row in out["segment_members"]:
        got.setdefault(row["segment"], []).append(row["customer_id"])
    return got


def check_members(j: dict, events, customers, expected: dict[str, list], as_of=AS_OF):
    got = members(evaluate_analysis(j, events, customers, as_of))
    assert {name: got.get(name, []) for name in expected} == expected


# ----------------------------------------------------------------------------- segment conditions


def test_event_leaf_segments_at_least_at_most_in_last_distinct_where():
    events = [
        ev(1, "a", "2024-04-16 00:00", value="x"),  # exactly 14 days before as_of: outside in_last 14 days
        ev(1, "a", "2024-04-20 00:00", value="x"),
        ev(1, "a", "2024-04-29 00:00", value="y", format="csv"),
        ev(1, "a", "2024-05-02 00:00", value="z"),  # after as_of: never counts
        ev(2, "b", "2024-04-01 00:00", value=None),
        {"customer_id": 2, "event_name": "a", "occurred_at": None},  # not a counted event
    ]
    customers = [cu(3, None)]  # 3: present, no events at all
    segments = {
        "a_any": {"event": "a"},  # 1 (3 counted a's)
        "a3": {"event": "a", "at_least": 3},  # 1
        "a4": {"event": "a", "at_least": 4},  # nobody: the 4th is after as_of
        "a_2_to_3": {"event": "a", "at_least": 2, "at_most": 3},  # 1
        "recent": {"event": "a", "in_last": {"days": 14}},  # 1: 04-20 and 04-29 are > 04-16 00:00
        "recent_le1": {"event": "a", "in_last": {"days": 14}, "at_most": 1},  # 1 has 2 -> no; 2, 3 have 0
        "recent_le2": {"event": "a", "in_last": {"days": 14}, "at_most": 2},  # 1 (the boundary event excluded)
        "recent_hours": {"event": "a", "in_last": {"hours": 24}, "at_least": 1},  # 1: 04-29 00:00 > 04-29 00:00? no
        "recent_hours_25": {"event": "a", "in_last": {"hours": 25}},  # 1: 04-29 00:00 > 04-28 23:00
        "never_a": {"event": "a", "at_most": 0},  # at_least defaults to 0: 2 and 3
        "distinct2": {"event": "a", "distinct": "value", "at_least": 2},  # 1: {x, y}
        "distinct_le1": {"event": "a", "distinct": "value", "at_most": 1},  # 2 and 3 (0 values)
        "b_distinct": {"event": "b", "distinct": "value"},  # nobody: 2's only value is NULL
        "csv": {"event": ["a", "b"], "where": {"format": "csv"}},  # 1
        "a_or_b_2": {"event": ["a", "b"], "at_least": 2},  # 1
        "b_or_c": {"event": ["b", "c"]},  # 2
    }
    check_members(journey(ms("m1", {"event": "a"}), segments=segments), events, customers, {
        "a_any": [1], "a3": [1], "a4": [], "a_2_to_3": [1], "recent": [1], "recent_le1": [2, 3],
        "recent_le2": [1, 2, 3], "recent_hours": [], "recent_hours_25": [1], "never_a": [2, 3],
        "distinct2": [1], "distinct_le1": [2, 3], "b_distinct": [], "csv": [1], "a_or_b_2": [1], "b_or_c": [2],
    })


def test_milestone_status_segments():
    # m2 must come within 1 day of signup
    j = journey(ms("m1", {"event": "a"}), ms("m2", {"event": "b"}, within={"days": 1, "of": "signup"}), segments={
        "got_m2": {"milestone": "m2"},
        "got_m2_explicit": {"milestone": "m2", "status": "reached"},
        "missed": {"milestone": "m2", "status": "missed"},
        "on_the_way": {"milestone": "m2", "status": "in_progress"},
        "not_eligible": {"milestone": "m2", "status": "not_eligible"},
        "m1_in_progress": {"milestone": "m1", "status": "in_progress"},
    })
    events = [
        ev(1, "a", "2024-04-01 10:00"), ev(1, "b", "2024-04-01 20:00"),  # reached in time
        ev(2, "a", "2024-04-01 10:00"),  # deadline 04-02 passed: missed
        ev(3, "a", "2024-04-29 13:00"),  # deadline 04-30 12:00 after as_of: in_progress
        ev(5, "a", "2024-04-02 00:00"),  # signup NULL: anchor NULL -> not_eligible
    ]
    customers = [cu(1, "2024-04-01"), cu(2, "2024-04-01"), cu(3, "2024-04-29 12:00"),
                 cu(4, "2024-04-01"),  # no events: m1 in_progress, m2 not_eligible (sequential)
                 cu(5, None)]
    check_members(j, events, customers, {
        "got_m2": [1], "got_m2_explicit": [1], "missed": [2], "on_the_way": [3], "not_eligible": [4, 5],
        "m1_in_progress": [4],
    })


def test_customer_filter_signed_up_and_not_over_null():
    customers = [
        cu(1, "2024-04-20", plan="pro"),  # two rows: signed_up_at is the earliest, 03-01 (60 days ago)
        cu(1, "2024-03-01", plan="free"),
        cu(2, "2024-04-16", plan=None),  # exactly 14 days ago
        cu(3, None, plan="free"),  # NULL signup
        {"customer_id": None, "signed_up_at": ts("2024-04-20"), "plan": "pro"},  # no id: nobody
    ]
    events = [ev(4, "a", "2024-04-01")]  # 4: present through its event, no customers row
    segments = {
        "pro": {"customer": {"plan": "pro"}},  # any row matching: 1
        "free": {"customer": {"plan": "free"}},  # 1, 3
        "not_pro": {"not": {"customer": {"plan": "pro"}}},  # 2 (NULL plan), 3, 4 (no row): not(false)
        "plan_null": {"customer": {"plan": None}},  # IS NULL: 2 (4 has no row)
        "plan_ne_pro": {"customer": {"plan": {"ne": "pro"}}},  # 1's free row, 3; NULL plan matches nothing
        "plan_in": {"customer": {"plan": {"in": ["pro", "agency"]}}},  # 1
        "recent": {"signed_up": {"days_ago": {"lte": 14}}},  # 2 (exactly 14)
        "recent_strict": {"signed_up": {"days_ago": {"lt": 14}}},  # nobody
        "older": {"signed_up": {"days_ago": {"gt": 14, "lte": 60}}},  # 1 (60, the earliest row)
        "fractional": {"signed_up": {"days_ago": {"gte": 13.5, "lt": 14.5}}},  # 2
        "not_recent": {"not": {"signed_up": {"days_ago": {"lte": 14}}}},  # 1, 3 (NULL), 4 (no row)
        "free_and_old": {"all": [{"customer": {"plan": "free"}},
                                 {"not": {"signed_up": {"days_ago": {"lt": 30}}}}]},  # 1 (60 d), 3 (NULL)
        "pro_or_a": {"any": [{"customer": {"plan": "pro"}}, {"event": "a"}]},  # 1, 4
        "not_not": {"not": {"not": {"customer": {"plan": "pro"}}}},  # 1
    }
    check_members(journey(ms("m1", {"event": "a"}), segments=segments), events, customers, {
        "pro": [1], "free": [1, 3], "not_pro": [2, 3, 4], "plan_null": [2], "plan_ne_pro": [1, 3],
        "plan_in": [1], "recent": [2], "recent_strict": [], "older": [1], "fractional": [2],
        "not_recent": [1, 3, 4], "free_and_old": [1, 3], "pro_or_a": [1, 4], "not_not": [1],
    })


def test_segment_members_rows_and_order():
    j = journey(ms("m1", {"event": "a"}), segments={"zeta": {"event": "a"}, "alpha": {"event": "a"}})
    out = evaluate_analysis(j, [ev(2, "a", "2024-04-01"), ev(1, "a", "2024-04-02")], [], AS_OF)
    assert out["segment_members"] == [
        {"journey": "j", "segment": "alpha", "customer_id": 1}, {"journey": "j", "segment": "alpha", "customer_id": 2},
        {"journey": "j", "segment": "zeta", "customer_id": 1}, {"journey": "j", "segment": "zeta", "customer_id": 2}]
    assert set(out) == set(ANALYSIS_TABLES)


# ----------------------------------------------------------------------------- segment_funnel


def test_segment_funnel_members_only_empty_segment_and_all_equals_funnel():
    j = journey(ms("m1", {"event": "a"}), ms("m2", {"event": "b"}),
                segments={"b_doers": {"event": "b"}, "nobody": {"event": "zzz"}})
    events = [ev(1, "a", "2024-03-01"), ev(1, "b", "2024-03-02"),  # 1 day
              ev(2, "a", "2024-03-01"), ev(2, "b", "2024-03-04"),  # 3 days
              ev(3, "a", "2024-03-01")]
    customers = [cu(4, None)]  # present, no events
    core = evaluate(j, events, customers, AS_OF)
    out = evaluate_analysis(j, events, customers, AS_OF, core)
    rows = {(r["segment"], r["milestone"]): r for r in out["segment_funnel"]}
    assert list(out["segment_funnel"][0]) == ["journey", "segment", "milestone_index", "phase", "milestone", "kpi",
                                              "customers_reached", "pct_of_first", "pct_of_previous",
                                              "dropped_from_previous", "median_days_from_previous"]
    assert [r["segment"] for r in out["segment_funnel"]] == ["all", "all", "b_doers", "b_doers", "nobody", "nobody"]
    b2 = rows["b_doers", "m2"]
    assert (b2["customers_reached"], b2["pct_of_first"], b2["pct_of_previous"], b2["dropped_from_previous"],
            b2["median_days_from_previous"]) == (2, 100.0, 100.0, 0, 2.0)
    assert rows["b_doers", "m1"]["customers_reached"] == 2
    n1, n2 = rows["nobody", "m1"], rows["nobody", "m2"]
    assert (n1["customers_reached"], n1["pct_of_first"], n1["pct_of_previous"]) == (0, None, None)
    assert (n2["customers_reached"], n2["pct_of_first"], n2["pct_of_previous"], n2["dropped_from_previous"],
            n2["median_days_from_previous"]) == (0, None, None, 0, None)
    a2 = rows["all", "m2"]
    assert (a2["customers_reached"], a2["pct_of_first"], a2["dropped_from_previous"]) == (2, 66.67, 1)
    assert [{k: v for k, v in r.items() if k != "segment"} for r in out["segment_funnel"] if r["segment"] == "all"] \
        == core["funnel"]


# ----------------------------------------------------------------------------- success_gaps

FOUR = [ms("m1", {"event": "a"}), ms("m2", {"event": "b"}), ms("m3", {"event": "c"}), ms("m4", {"event": "d"})]
# 1: m1..m4; 2: m1, m2; 3: m1..m3; 4, 5: m1; 6: m1, m2 (sequential, one event a day)
GAP_EVENTS = [ev(cid, name, f"2024-03-0{i + 1}") for cid, names in
              {1: "abcd", 2: "ab", 3: "abc", 4: "a", 5: "a", 6: "ab"}.items() for i, name in enumerate(names)]
GAP_CUSTOMERS = [cu(1, "2024-03-01", plan="pro"), cu(2, "2024-03-01", plan="pro")]
GAP_SEGMENTS = {"best": {"customer": {"plan": "pro"}}, "rest": {"not": {"customer": {"plan": "pro"}}},
                "nobody": {"event": "zzz"}}


def gaps(out, segment):
    return [(r["to_index"], r["customers_at_from"], r["customers_converted"], r["conversion_pct"], r["dropped"],
             r["still_in_progress"], r["benchmark_conversion_pct"], r["gap_customers"], r["rank"])
            for r in out["success_gaps"] if r["segment"] == segment]


def test_success_gaps_against_the_first_segment_with_rank_tie_breaks():
    out = evaluate_analysis(journey(*FOUR, segments=GAP_SEGMENTS), GAP_EVENTS, GAP_CUSTOMERS, AS_OF)
    row = out["success_gaps"][0]
    assert list(row) == ["journey", "segment", "from_milestone", "to_index", "to_milestone", "customers_at_from",
                         "customers_converted", "conversion_pct", "dropped", "still_in_progress", "benchmark_segment",
                         "benchmark_conversion_pct", "gap_customers", "rank"]
    assert (row["segment"], row["from_milestone"], row["to_milestone"], row["benchmark_segment"]) == (
        "all", "m1", "m2", "best")
    # best (1, 2): m1->m2 2/2, m2->m3 1/2, m3->m4 1/1. Its own gaps are 0: rank by dropped desc, then to_index
    assert gaps(out, "best") == [(2, 2, 2, 100.0, 0, 0, 100.0, 0.0, 2), (3, 2, 1, 50.0, 1, 1, 50.0, 0.0, 1),
                                 (4, 1, 1, 100.0, 0, 0, 100.0, 0.0, 3)]
    # rest (3..6): m1->m2 2/4: gap 4 * (1 - 1/2) = 2; m2->m3 1/2: 2 * (1/2 - 1/2) = 0; m3->m4 0/1: 1 * (1 - 0) = 1
    assert gaps(out, "rest") == [(2, 4, 2, 50.0, 2, 2, 100.0, 2.0, 1), (3, 2, 1, 50.0, 1, 1, 50.0, 0.0, 3),
                                 (4, 1, 0, 0.0, 1, 1, 100.0, 1.0, 2)]
    # all: 6 * (1 - 4/6) = 2; 4 * (1/2 - 2/4) = 0; 2 * (1 - 1/2) = 1
    assert gaps(out, "all") == [(2, 6, 4, 66.67, 2, 2, 100.0, 2.0, 1), (3, 4, 2, 50.0, 2, 2, 50.0, 0.0, 3),
                                (4, 2, 1, 50.0, 1, 1, 100.0, 1.0, 2)]
    # no member at the previous milestone: conversion and gap NULL, ranks by dropped (0) then to_index
    assert gaps(out, "nobody") == [(2, 0, 0, None, 0, 0, 100.0, None, 1), (3, 0, 0, None, 0, 0, 50.0, None, 2),
                                   (4, 0, 0, None, 0, 0, 100.0, None, 3)]


def test_success_gaps_named_empty_benchmark_and_exact_gap():
    out = evaluate_analysis(journey(*FOUR, segments=GAP_SEGMENTS, analysis={"benchmark": "nobody"}),
                            GAP_EVENTS, GAP_CUSTOMERS, AS_OF)
    assert {r["benchmark_segment"] for r in out["success_gaps"]} == {"nobody"}
    assert {r["benchmark_conversion_pct"] for r in out["success_gaps"]} == {None}
    assert {r["gap_customers"] for r in out["success_gaps"]} == {None}
    # all, NULL gaps everywhere: dropped 2 (to 2), 2 (to 3), 1 (to 4) -> ranks 1, 2, 3
    assert [r[-1] for r in gaps(out, "all")] == [1, 2, 3]

    # benchmark = rest: all's m1->m2 gap = 6 * (2/4 - 4/6) = -1 exactly; best's m3->m4 = 1 * (0/1 - 1) = -1
    out = evaluate_analysis(journey(*FOUR, segments=GAP_SEGMENTS, analysis={"benchmark": "rest"}),
                            GAP_EVENTS, GAP_CUSTOMERS, AS_OF)
    assert gaps(out, "all")[0][6:8] == (50.0, -1.0)
    # best: m1->m2 2 * (1/2 - 1) = -1, m2->m3 2 * (1/2 - 1/2) = 0, m3->m4 -1: 0 first, then the -1s by dropped
    # (m3->m4 and m1->m2 both dropped 0) then to_index
    assert [(r[0], r[7], r[8]) for r in gaps(out, "best")] == [(2, -1.0, 2), (3, 0.0, 1), (4, -1.0, 3)]


def test_success_gaps_thirds_are_exact_before_rounding():
    # benchmark b: 1 of 3 converts (33.33... %); segment s: 7 at m1, none convert:
    # 7 * (1/3 - 0) = 2.333... -> 2.33 (from the rounded percentage it would be 7 * 0.3333 = 2.3331)
    events = [ev(c, "a", "2024-03-01") for c in range(1, 11)] + [ev(1, "b", "2024-03-02")]
    j = journey(ms("m1", {"event": "a"}), ms("m2", {"event": "b"}),
                segments={"b": {"customer": {"plan": "b"}}, "s": {"not": {"customer": {"plan": "b"}}}})
    customers = [cu(c, None, plan="b") for c in (1, 2, 3)]
    out = evaluate_analysis(j, events, customers, AS_OF)
    assert gaps(out, "s") == [(2, 7, 0, 0.0, 7, 7, 33.33, 2.33, 1)]
    assert gaps(out, "all") == [(2, 10, 1, 10.0, 9, 9, 33.33, 2.33, 1)]  # 10 * (1/3 - 1/10) = 2.333...


def test_success_gaps_without_segments_rank_by_dropped_then_to_index():
    # independent: reached m1: 1..4, m2: 1, m3: 1, 2 (dropped 3 then -1), m4: nobody (dropped 2), m5: nobody (0)
    j = journey(*FOUR, ms("m5", {"event": "e"}), order="independent")
    events = [ev(c, "a", "2024-03-01") for c in (1, 2, 3, 4)] + [ev(1, "b", "2024-03-02"), ev(1, "c", "2024-03-03"),
                                                                ev(2, "c", "2024-03-03")]
    out = evaluate_analysis(j, events, None, AS_OF)
    assert [(r[0], r[1], r[2], r[4], r[6], r[7], r[8]) for r in gaps(out, "all")] == [
        (2, 4, 1, 3, None, None, 1), (3, 1, 1, 0, None, None, 3), (4, 2, 0, 2, None, None, 2),
        (5, 0, 0, 0, None, None, 4)]
    assert {r["benchmark_segment"] for r in out["success_gaps"]} == {None}
    assert out["segment_members"] == []


# ----------------------------------------------------------------------------- win_back


def test_win_back_boundaries_and_who_is_left_out():
    j = journey(ms("m1", {"event": "a"}), ms("m2", {"event": "b"}, within={"days": 30, "of": "previous"}),
                ms("m3", {"event": "c"}))
    events = [
        ev(1, "a", "2024-04-16 00:00:00"),  # exactly 14 days: in
        ev(2, "a", "2024-04-16 00:00:01"),  # a second less: out
        ev(5, "a", "2024-03-01"), ev(5, "b", "2024-03-02"), ev(5, "c", "2024-03-03"),  # reached the last: out
        ev(6, "a", "2024-04-10"), ev(6, "zzz", "2024-04-29"),  # seen yesterday (any event name): out
        ev(7, "a", "2024-03-01"),  # m2 missed (deadline 03-31): out
        ev(8, "a", "2024-04-01"), ev(8, "b", "2024-05-05"),  # the later event is after as_of: 29 days
    ]
    customers = [cu(3, "2024-04-01 12:00"),  # no events: last seen = signup, 28.5 days, next m1
                 cu(4, None),  # neither event nor signup: out
                 cu(1, "2024-01-01")]
    out = evaluate_analysis(j, events, customers, AS_OF)
    assert out["win_back"] == [
        {"journey": "j", "customer_id": 1, "signed_up_at": ts("2024-01-01"), "current_milestone": "m1",
         "next_milestone": "m2", "current_reached_at": ts("2024-04-16"), "last_seen_at": ts("2024-04-16"),
         "days_inactive": 14.0, "days_since_progress": 14.0},
        {"journey": "j", "customer_id": 3, "signed_up_at": ts("2024-04-01 12:00"), "current_milestone": None,
         "next_milestone": "m1", "current_reached_at": None, "last_seen_at": ts("2024-04-01 12:00"),
         "days_inactive": 28.5, "days_since_progress": None},
        {"journey": "j", "customer_id": 8, "signed_up_at": None, "current_milestone": "m1",
         "next_milestone": "m2", "current_reached_at": ts("2024-04-01"), "last_seen_at": ts("2024-04-01"),
         "days_inactive": 29.0, "days_since_progress": 29.0},
    ]
    j["analysis"] = {"win_back": {"inactive_days": 29}}
    assert [r["customer_id"] for r in evaluate_analysis(j, events, customers, AS_OF)["win_back"]] == [8]


def test_win_back_needs_next_milestone_in_progress_and_a_last_milestone():
    # independent: customer 2 reached m2 only (the last): out although m1 is unreached;
    # customer 3 reached m1 only, next m2 in_progress: in
    events = [ev(2, "b", "2024-03-01"), ev(3, "a", "2024-03-01")]
    ind = journey(ms("m1", {"event": "a"}), ms("m2", {"event": "b"}), order="independent", customers=False)
    assert [r["customer_id"] for r in evaluate_analysis(ind, events, None, AS_OF)["win_back"]] == [3]
    # sequential, m2 within 1 day of m1: customer 3's m2 is missed, not in_progress: out;
    # customer 2 (b before any a) reached nothing: next m1 is in_progress: in
    seq = journey(ms("m1", {"event": "a"}), ms("m2", {"event": "b"}, within={"days": 1, "of": "previous"}),
                  customers=False)
    assert [r["customer_id"] for r in evaluate_analysis(seq, events, None, AS_OF)["win_back"]] == [2]
    assert evaluate_analysis(journey(customers=False), events, None, AS_OF)["win_back"] == []  # no milestones


# ----------------------------------------------------------------------------- cohort_funnel


def cohorts(out):
    return [(r["cohort_start"], r["milestone_index"], r["cohort_size"], r["customers_reached"], r["pct_reached"],
             r["customers_reached_within"], r["pct_reached_within"], r["is_complete"]) for r in out["cohort_funnel"]]


def test_cohort_funnel_weeks_window_and_completeness_boundary():
    j = journey(ms("m1", {"event": "a"}), analysis={"cohorts": {"per": "week", "within": {"days": 7}}})
    events = [
        ev(1, "a", "2024-04-08 00:00:00"),  # signup Monday 04-01: exactly 7 days -> within
        ev(2, "a", "2024-04-15 00:00:00"),  # signup Sunday 04-07 23:59:59: 7 days and 1 second -> not within
        ev(3, "a", "2024-04-09 00:00"),  # NULL signup: anchor = first event, week of 04-08
        ev(5, "a", "2024-03-31 10:00"),  # no customers row: anchor = first event, Sunday -> week of 03-25
    ]
    customers = [cu(1, "2024-04-01"), cu(2, "2024-04-07 23:59:59"), cu(3, None),
                 cu(4, None),  # no anchor at all: left out
                 cu(6, "2024-04-02")]  # never reaches m1
    out = evaluate_analysis(j, events, customers, ts("2024-04-15 00:00"))
    assert list(out["cohort_funnel"][0]) == ["journey", "cohort_start", "milestone_index", "milestone", "cohort_size",
                                             "customers_reached", "pct_reached", "customers_reached_within",
                                             "pct_reached_within", "is_complete"]
    # week 04-01 is complete when 04-08 + 7 days <= as_of: exactly at as_of 04-15 00:00
    assert cohorts(out) == [(date(2024, 3, 25), 1, 1, 1, 100.0, 1, 100.0, True),
                            (date(2024, 4, 1), 1, 3, 2, 66.67, 1, 33.33, True),
                            (date(2024, 4, 8), 1, 1, 1, 100.0, 1, 100.0, False)]
    out = evaluate_analysis(j, events, customers, ts("2024-04-14 23:59:59"))  # 2's event is now after as_of
    assert cohorts(out)[1] == (date(2024, 4, 1), 1, 3, 1, 33.33, 1, 33.33, False)


def test_cohort_funnel_defaults_month_30_days_and_first_event_without_customers_source():
    j = journey(ms("m1", {"event": "a"}), ms("m2", {"event": "b"}), customers=False)
    events = [ev(1, "c", "2024-02-29 23:59:59"), ev(1, "a", "2024-03-01"), ev(1, "b", "2024-03-30 23:59:59"),
              ev(2, "a", "2024-03-01 00:00"), ev(2, "b", "2024-04-01")]  # 2: b 31 days after its anchor
    out = evaluate_analysis(j, events, None, ts("2024-04-30 00:00"))
    # Feb cohort: March 1 + 30 days = 03-31 <= as_of; March cohort: April 1 + 30 days = May 1 > as_of
    assert cohorts(out) == [(date(2024, 2, 1), 1, 1, 1, 100.0, 1, 100.0, True),
                            (date(2024, 2, 1), 2, 1, 1, 100.0, 1, 100.0, True),
                            (date(2024, 3, 1), 1, 1, 1, 100.0, 1, 100.0, False),
                            (date(2024, 3, 1), 2, 1, 1, 100.0, 0, 0.0, False)]
    # with a customers source, a NULL signup still falls back to the first event
    j2 = journey(ms("m1", {"event": "a"}), analysis={"cohorts": {"within": {"hours": 1}}})
    out = evaluate_analysis(j2, events, [cu(1, None), cu(2, "2024-01-15")], ts("2024-04-30"))
    assert [(r[0], r[2], r[5]) for r in cohorts(out)] == [(date(2024, 1, 1), 1, 0), (date(2024, 2, 1), 1, 1)]


# ----------------------------------------------------------------------------- kpi_trend


def test_kpi_trend_days_and_weeks_empty_periods_included():
    j = journey(ms("m1", {"event": "a"}), ms("m2", {"event": "b"}), customers=False, analysis={"trend": "day"})
    events = [ev(1, "a", "2024-03-01 10:00"), ev(1, "b", "2024-03-03 00:00"), ev(2, "a", "2024-03-03 23:59:59"),
              ev(3, "a", "2024-03-09")]  # after as_of
    as_of = ts("2024-03-04 12:00")
    out = evaluate_analysis(j, events, None, as_of)
    assert list(out["kpi_trend"][0]) == ["journey", "milestone_index", "milestone", "period_start", "newly_reached",
                                         "reached_to_date"]
    assert [(r["milestone"], r["period_start"].day, r["newly_reached"], r["reached_to_date"])
            for r in out["kpi_trend"]] == [
        ("m1", 1, 1, 1), ("m1", 2, 0, 1), ("m1", 3, 1, 2), ("m1", 4, 0, 2),
        ("m2", 1, 0, 0), ("m2", 2, 0, 0), ("m2", 3, 1, 1), ("m2", 4, 0, 1)]
    j["analysis"] = {}  # week by default: Monday 02-26 (holding 03-01 .. Sunday 03-03) and Monday 03-04
    out = evaluate_analysis(j, events, None, as_of)
    assert [(r["milestone"], r["period_start"], r["newly_reached"], r["reached_to_date"]) for r in out["kpi_trend"]] == [
        ("m1", date(2024, 2, 26), 2, 2), ("m1", date(2024, 3, 4), 0, 2),
        ("m2", date(2024, 2, 26), 1, 1), ("m2", date(2024, 3, 4), 0, 1)]
    # nobody reaches anything (sequential, no `a`): no rows
    assert evaluate_analysis(j, [ev(1, "b", "2024-03-01")], None, as_of)["kpi_trend"] == []


# ----------------------------------------------------------------------------- period_kpis


def test_period_kpis_streaks_whatever_the_order_previous_milestone_or_within():
    j = journey(
        ms("m1", {"event": "zzz"}),  # nobody reaches it, so under sequential nobody reaches m2 / m3
        ms("m2", {"per": "day", "streak": 2, "event": "a", "at_least": 2}, within={"days": 0, "of": "previous"}),
        ms("m3", {"event": "c"}, per="week"),
        ms("m4", {"event": "b", "per": "month"}),  # no b at all: no rows
        customers=False)
    events = [ev(1, "a", f"2024-03-0{d} {h}:00") for d in (1, 2, 3) for h in (10, 11)]  # days 1-3 qualify: 2, 3 end streaks
    events += [ev(2, "a", f"2024-03-0{d} {h}:00") for d in (2, 3) for h in (10, 11)] + [ev(2, "a", "2024-03-04 10:00")]
    events += [ev(3, "a", f"2024-03-0{d} {h}:00") for d in (6, 7) for h in (10, 11)]  # after as_of
    events += [ev(1, "c", "2024-03-01")]
    out = evaluate_analysis(j, events, None, ts("2024-03-05 12:00"))
    assert list(out["period_kpis"][0]) == ["journey", "milestone_index", "milestone", "per", "period_start",
                                           "customers_qualified"]
    assert [(r["milestone_index"], r["milestone"], r["per"], r["period_start"], r["customers_qualified"])
            for r in out["period_kpis"]] == [
        (2, "m2", "day", date(2024, 3, 2), 1), (2, "m2", "day", date(2024, 3, 3), 2),
        (2, "m2", "day", date(2024, 3, 4), 0), (2, "m2", "day", date(2024, 3, 5), 0),
        (3, "m3", "week", date(2024, 2, 26), 1), (3, "m3", "week", date(2024, 3, 4), 0)]
    assert {r["milestone"]: r["reached_at"] for r in evaluate(j, events, None, ts("2024-03-05 12:00"))[
        "milestone_status"] if r["customer_id"] == 1}["m2"] is None


# ----------------------------------------------------------------------------- evaluate_all


def test_evaluate_all_has_both_sets_and_no_segments_means_only_all():
    j = journey(ms("m1", {"event": "a"}), customers=False)
    out = evaluate_all(j, [ev(1, "a", "2024-04-01")], None, AS_OF)
    assert set(out) == {"milestone_status", "customer_progress", "funnel", *ANALYSIS_TABLES}
    assert out["segment_members"] == [] and out["success_gaps"] == []
    assert [r["segment"] for r in out["segment_funnel"]] == ["all"]
    empty = evaluate_all(j, [], None, AS_OF)  # an empty journey: zero counts, no error
    assert empty["segment_funnel"][0]["customers_reached"] == 0
    assert all(empty[t] == [] for t in ANALYSIS_TABLES if t != "segment_funnel")


# ----------------------------------------------------------------------------- strategies


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(with_analysis=True))
def test_analysis_strategies_give_sane_results(scenario):
    journey_doc, events, customers, as_of = scenario
    if SpecJourney is not None and "segments" in SpecJourney.model_fields:
        SpecJourney.model_validate(journey_doc)  # once the spec knows SPEC §4: the strategies give valid journeys
    assert customers is None or all("plan" in row for row in customers)
    out = evaluate_all(journey_doc, events, customers, as_of)
    present = {r["customer_id"] for r in out["customer_progress"]}
    assert {r["customer_id"] for r in out["segment_members"]} <= present
    assert {r["segment"] for r in out["segment_members"]} <= {s["segment"] for s in journey_doc.get("segments", [])}
    assert [{k: v for k, v in r.items() if k != "segment"} for r in out["segment_funnel"]
            if r["segment"] == "all"] == out["funnel"]
    n_segments = len(journey_doc.get("segments", [])) + 1
    assert len(out["segment_funnel"]) == n_segments * len(out["funnel"])
    assert len(out["success_gaps"]) == n_segments * max(len(out["funnel"]) - 1, 0)
    for row in out["success_gaps"]:
        assert row["customers_converted"] + row["dropped"] == row["customers_at_from"]
        assert 0 <= row["still_in_progress"] <= row["dropped"]
        if row["segment"] == row["benchmark_segment"] and row["gap_customers"] is not None:
            assert row["gap_customers"] == 0.0
    for row in out["win_back"]:
        assert row["customer_id"] in present and row["last_seen_at"] <= as_of
    for row in out["cohort_funnel"]:
        assert row["customers_reached_within"] <= row["customers_reached"] <= row["cohort_size"]
