"""One test per SPEC §2 rule, with expectations worked out by hand (comments show the working)."""

from __future__ import annotations

import math
from datetime import datetime as dt

import pytest

AS_OF = dt(2024, 12, 31)


def ev(customer, name, when, **extra):
    return {"customer_id": customer, "event_name": name, "occurred_at": when, **extra}


def journey(*milestones, order="sequential", **extra):
    return {"journey": "j", "order": order,
            "phases": [{"phase": "p", "milestones": list(milestones)}], **extra}


def m(name, reached_when, **extra):
    return {"milestone": name, "reached_when": reached_when, **extra}


def reached(out, customer=None):
    """{(customer_id, milestone): reached_at} from milestone_status."""
    return {(r["customer_id"], r["milestone"]): r["reached_at"] for r in out["milestone_status"]
            if customer is None or r["customer_id"] == customer}


def statuses(out):
    return {(r["customer_id"], r["milestone"]): r["status"] for r in out["milestone_status"]}


def test_event_leaf_nth_matching_event(run_journey):
    # the 3rd search is at 03:00; two other events do not count
    events = [ev(1, "search", dt(2024, 1, 1, h)) for h in (1, 2, 3, 4)] + [ev(1, "login", dt(2024, 1, 1, 0))]
    out = run_journey(journey(m("a", {"event": "search", "at_least": 3})), events, None, AS_OF)
    assert reached(out) == {(1, "a"): dt(2024, 1, 1, 3)}


def test_event_list_counts_any_listed_name(run_journey):
    events = [ev(1, "upgrade", dt(2024, 1, 2)), ev(1, "review", dt(2024, 1, 1)), ev(1, "x", dt(2023, 1, 1))]
    out = run_journey(journey(m("a", {"event": ["upgrade", "review"], "at_least": 2})), events, None, AS_OF)
    assert reached(out) == {(1, "a"): dt(2024, 1, 2)}


def test_where_mapping_equality_in_and_comparison(run_journey):
    events = [ev(1, "export", dt(2024, 1, 1), format="pdf"), ev(1, "export", dt(2024, 1, 2), format="csv"),
              ev(1, "export", dt(2024, 1, 3), format=None), ev(1, "export", dt(2024, 1, 4), format="csv"),
              ev(2, "export", dt(2024, 1, 5), format="xlsx")]
    out = run_journey(journey(
        m("csv2", {"event": "export", "at_least": 2, "where": {"format": "csv"}}),
        m("pdf_or_xlsx", {"event": "export", "where": {"format": {"in": ["pdf", "xlsx"]}}}),
        m("not_pdf", {"event": "export", "where": {"format": {"ne": "pdf"}}}), order="independent"),
        events, None, AS_OF)
    assert reached(out) == {
        (1, "csv2"): dt(2024, 1, 4), (1, "pdf_or_xlsx"): dt(2024, 1, 1), (1, "not_pdf"): dt(2024, 1, 2),
        (2, "csv2"): None, (2, "pdf_or_xlsx"): dt(2024, 1, 5), (2, "not_pdf"): dt(2024, 1, 5)}


def test_where_sql_string(run_journey):
    events = [ev(1, "export", dt(2024, 1, 1), format="PDF"), ev(1, "export", dt(2024, 1, 2), format="csv")]
    out = run_journey(journey(m("a", {"event": "export", "where": "lower(format) = 'pdf' OR value IS NOT NULL"})),
                      events, None, AS_OF)
    assert reached(out) == {(1, "a"): dt(2024, 1, 1)}


def test_where_on_json_properties(run_journey):
    # keys that are not columns are read from the JSON `properties` text, typed by the compared value
    events = [ev(1, "export", dt(2024, 1, 1), properties='{"rows": 5, "plan": "pro", "shared": false}'),
              ev(1, "export", dt(2024, 1, 2), properties='{"rows": 50, "plan": "free", "shared": true}'),
              ev(1, "export", dt(2024, 1, 3), properties='{"rows": 12.5}'),
              ev(2, "export", dt(2024, 1, 4), properties=None)]
    out = run_journey(journey(
        m("pro", {"event": "export", "where": {"plan": "pro"}}),
        m("big", {"event": "export", "where": {"rows": {"gt": 10}}}),
        m("shared", {"event": "export", "where": {"shared": True}}),
        m("not_pro", {"event": "export", "where": {"plan": {"ne": "pro"}}}), order="independent"),
        events, None, AS_OF)
    # not_pro: the missing plan (Jan 3, customer 2) is NULL and never matches, even with `ne`
    assert reached(out) == {
        (1, "pro"): dt(2024, 1, 1), (1, "big"): dt(2024, 1, 2), (1, "shared"): dt(2024, 1, 2),
        (1, "not_pro"): dt(2024, 1, 2),
        (2, "pro"): None, (2, "big"): None, (2, "shared"): None, (2, "not_pro"): None}


def test_distinct_counts_first_appearance_of_values(run_journey):
    # values x (10:00), x again, y (12:00), NULL (ignored), z (14:00): the 3rd distinct value appears at 14:00
    events = [ev(1, "search", dt(2024, 1, 1, 10), value="x"), ev(1, "search", dt(2024, 1, 1, 11), value="x"),
              ev(1, "search", dt(2024, 1, 1, 12), value="y"), ev(1, "search", dt(2024, 1, 1, 13), value=None),
              ev(1, "search", dt(2024, 1, 1, 14), value="z")]
    out = run_journey(journey(m("a", {"event": "search", "at_least": 3, "distinct": "value"})), events, None, AS_OF)
    assert reached(out) == {(1, "a"): dt(2024, 1, 1, 14)}


def test_all_takes_latest_child_any_the_earliest(run_journey):
    events = [ev(1, "a", dt(2024, 1, 1)), ev(1, "b", dt(2024, 1, 5)), ev(1, "c", dt(2024, 1, 3))]
    out = run_journey(journey(
        m("all", {"all": [{"event": "a"}, {"event": "b"}]}),
        m("any", {"any": [{"event": "b"}, {"event": "c"}]}),
        m("none", {"all": [{"event": "a"}, {"event": "zzz"}]}), order="independent"), events, None, AS_OF)
    assert reached(out) == {(1, "all"): dt(2024, 1, 5), (1, "any"): dt(2024, 1, 3), (1, "none"): None}


def test_milestone_reference_holds_from_its_reached_at(run_journey):
    events = [ev(1, "a", dt(2024, 1, 1)), ev(1, "a", dt(2024, 1, 9)), ev(1, "b", dt(2024, 1, 5))]
    out = run_journey(journey(
        m("two_a", {"event": "a", "at_least": 2}),
        m("then_b", {"all": [{"milestone": "two_a"}, {"event": "b"}]}), order="independent"), events, None, AS_OF)
    assert reached(out) == {(1, "two_a"): dt(2024, 1, 9), (1, "then_b"): dt(2024, 1, 9)}


def test_per_week_streak_weeks_start_monday(run_journey):
    # Monday 2024-01-01. Weeks: [Jan 1-7], [Jan 8-14], [Jan 15-21]. Two logins per week needed, 2 weeks in a row.
    # Sunday Jan 7 belongs to week 1 and Monday Jan 8 to week 2, so customer 1 has 2+2 and reaches on the
    # 2nd login of week 2 (Jan 9). Customer 2's logins fall Sun Jan 14 + Mon Jan 15: one per week, never.
    events = [ev(1, "login", dt(2024, 1, 6)), ev(1, "login", dt(2024, 1, 7, 23, 59)),
              ev(1, "login", dt(2024, 1, 8)), ev(1, "login", dt(2024, 1, 9)),
              ev(2, "login", dt(2024, 1, 14, 12)), ev(2, "login", dt(2024, 1, 15, 12)),
              ev(2, "login", dt(2024, 1, 3))]
    out = run_journey(journey(m("habit", {"per": "week", "streak": 2, "event": "login", "at_least": 2})),
                      events, None, AS_OF)
    assert reached(out) == {(1, "habit"): dt(2024, 1, 9), (2, "habit"): None}


def test_per_streak_needs_consecutive_periods(run_journey):
    # months Jan and Mar qualify but Feb does not: no streak of 2; Mar + Apr do: reached in April
    events = [ev(1, "x", dt(2024, mo, 10)) for mo in (1, 3, 4)]
    out = run_journey(journey(m("a", {"per": "month", "streak": 2, "event": "x"})), events, None, AS_OF)
    assert reached(out) == {(1, "a"): dt(2024, 4, 10)}


def test_per_day_counts_each_day_alone(run_journey):
    # 2 events on Jan 1 and 1 on Jan 2 at 00:30: a daily at_least 3 never holds
    events = [ev(1, "x", dt(2024, 1, 1, 22)), ev(1, "x", dt(2024, 1, 1, 23)), ev(1, "x", dt(2024, 1, 2, 0, 30)),
              ev(2, "x", dt(2024, 1, 2, 1)), ev(2, "x", dt(2024, 1, 2, 2)), ev(2, "x", dt(2024, 1, 2, 3))]
    out = run_journey(journey(m("a", {"per": "day", "event": "x", "at_least": 3})), events, None, AS_OF)
    assert reached(out) == {(1, "a"): None, (2, "a"): dt(2024, 1, 2, 3)}


def test_per_on_the_milestone_and_all_inside_period(run_journey):
    # January: 1 search; February: 2 searches + a list -> from the later of (2nd search, list) in February
    events = [ev(1, "search", dt(2024, 1, 31)), ev(1, "search", dt(2024, 2, 1)), ev(1, "list", dt(2024, 2, 3)),
              ev(1, "search", dt(2024, 2, 2))]
    out = run_journey(journey(m("a", {"all": [{"event": "search", "at_least": 2}, {"event": "list"}]}, per="month")),
                      events, None, AS_OF)
    assert reached(out) == {(1, "a"): dt(2024, 2, 3)}


def test_sequential_waits_for_previous_milestone(run_journey):
    # b happened before a: under sequential b is reached when a is (max of the two moments)
    events = [ev(1, "b", dt(2024, 1, 1)), ev(1, "a", dt(2024, 1, 5))]
    seq = run_journey(journey(m("a", {"event": "a"}), m("b", {"event": "b"})), events, None, AS_OF)
    ind = run_journey(journey(m("a", {"event": "a"}), m("b", {"event": "b"}), order="independent"), events, None, AS_OF)
    assert reached(seq) == {(1, "a"): dt(2024, 1, 5), (1, "b"): dt(2024, 1, 5)}
    assert reached(ind) == {(1, "a"): dt(2024, 1, 5), (1, "b"): dt(2024, 1, 1)}


def test_sequential_unreached_previous_blocks_later(run_journey):
    events = [ev(1, "b", dt(2024, 1, 1))]
    out = run_journey(journey(m("a", {"event": "a"}), m("b", {"event": "b"})), events, None, AS_OF)
    assert reached(out) == {(1, "a"): None, (1, "b"): None}
    assert statuses(out) == {(1, "a"): "in_progress", (1, "b"): "not_eligible"}


def test_sequential_per_condition_after_previous(run_journey):
    # weekly: 1 x per week. a reached Wed Jan 10 (week 2). Week 1 qualified earlier (Jan 2), week 2's x was
    # Mon Jan 8 (before a): the condition holds from Jan 8 to the end of week 2, so b is reached at a (Jan 10).
    events = [ev(1, "x", dt(2024, 1, 2)), ev(1, "x", dt(2024, 1, 8)), ev(1, "a", dt(2024, 1, 10))]
    out = run_journey(journey(m("a", {"event": "a"}), m("b", {"per": "week", "event": "x"})), events, None, AS_OF)
    assert reached(out) == {(1, "a"): dt(2024, 1, 10), (1, "b"): dt(2024, 1, 10)}
    # ... and if week 2 had no x, the next qualifying week (x on Jan 16) gives Jan 16
    events = [ev(1, "x", dt(2024, 1, 2)), ev(1, "x", dt(2024, 1, 16)), ev(1, "a", dt(2024, 1, 10))]
    out = run_journey(journey(m("a", {"event": "a"}), m("b", {"per": "week", "event": "x"})), events, None, AS_OF)
    assert reached(out)[(1, "b")] == dt(2024, 1, 16)


def test_within_signup(run_journey):
    # deadline = signup + 2 days, inclusive: customer 1 at exactly 2 days reaches, customer 2 at 2 days + 1 s misses,
    # customer 3 has no signup (not eligible), customer 4 is still inside the window at as_of (in progress)
    as_of = dt(2024, 3, 1)
    events = [ev(1, "x", dt(2024, 1, 3)), ev(2, "x", dt(2024, 1, 3, 0, 0, 1)), ev(3, "x", dt(2024, 1, 2)),
              ev(4, "y", dt(2024, 2, 29))]
    customers = [{"customer_id": 1, "signed_up_at": dt(2024, 1, 1)}, {"customer_id": 2, "signed_up_at": dt(2024, 1, 1)},
                 {"customer_id": 3, "signed_up_at": None}, {"customer_id": 4, "signed_up_at": dt(2024, 2, 29)}]
    out = run_journey(journey(m("a", {"event": "x"}, within={"days": 2, "of": "signup"})), events, customers, as_of)
    assert reached(out) == {(1, "a"): dt(2024, 1, 3), (2, "a"): None, (3, "a"): None, (4, "a"): None}
    assert statuses(out) == {(1, "a"): "reached", (2, "a"): "missed", (3, "a"): "not_eligible",
                             (4, "a"): "in_progress"}


def test_within_previous_and_milestone_anchor_in_hours(run_journey):
    events = [ev(1, "a", dt(2024, 1, 1, 0)), ev(1, "b", dt(2024, 1, 1, 5)), ev(1, "c", dt(2024, 1, 1, 7)),
              ev(2, "a", dt(2024, 1, 1, 0)), ev(2, "b", dt(2024, 1, 1, 6)), ev(2, "c", dt(2024, 1, 1, 8))]
    out = run_journey(journey(
        m("a", {"event": "a"}),
        m("b", {"event": "b"}, within={"hours": 5, "of": "previous"}),
        m("c", {"event": "c"}, within={"hours": 7, "of": "a"}), order="independent"), events, None, AS_OF)
    assert reached(out) == {(1, "a"): dt(2024, 1, 1), (1, "b"): dt(2024, 1, 1, 5), (1, "c"): dt(2024, 1, 1, 7),
                            (2, "a"): dt(2024, 1, 1), (2, "b"): None, (2, "c"): None}
    assert statuses(out)[(2, "b")] == "missed"


def test_as_of_ignores_later_events(run_journey):
    events = [ev(1, "x", dt(2024, 1, 1)), ev(1, "x", dt(2024, 1, 2)), ev(2, "x", dt(2024, 1, 3))]
    out = run_journey(journey(m("a", {"event": "x", "at_least": 2})), events, None, dt(2024, 1, 1, 12))
    # customer 2 has no event at or before as_of: not present at all
    assert reached(out) == {(1, "a"): None}
    out = run_journey(journey(m("a", {"event": "x", "at_least": 2})), events, None, dt(2024, 1, 2))
    assert reached(out)[(1, "a")] == dt(2024, 1, 2)  # an event exactly at as_of counts


def test_ties_resolve_to_the_same_timestamp(run_journey):
    t = dt(2024, 5, 5, 5, 5, 5)
    events = [ev(1, "x", t), ev(1, "x", t), ev(1, "y", t)]
    out = run_journey(journey(m("a", {"event": "x", "at_least": 2}), m("b", {"event": "y"})), events, None, AS_OF)
    assert reached(out) == {(1, "a"): t, (1, "b"): t}
    assert [r["median_days_from_previous"] for r in out["funnel"]] == [None, 0.0]


def test_customers_without_events_are_present(run_journey):
    customers = [{"customer_id": 7, "signed_up_at": dt(2024, 1, 1)}]
    out = run_journey(journey(m("a", {"event": "x"})), [ev(1, "x", dt(2024, 1, 1))], customers, AS_OF)
    assert reached(out) == {(1, "a"): dt(2024, 1, 1), (7, "a"): None}
    progress = {r["customer_id"]: r for r in out["customer_progress"]}
    assert progress[7]["signed_up_at"] == dt(2024, 1, 1) and progress[7]["next_milestone"] == "a"
    assert progress[1]["signed_up_at"] is None and progress[1]["next_milestone"] is None


def test_empty_journey_gives_zero_counts(run_journey):
    out = run_journey(journey(m("a", {"event": "x"}), m("b", {"event": "y"})), [], None, AS_OF)
    assert out["milestone_status"] == [] and out["customer_progress"] == []
    assert [(r["customers_reached"], r["pct_of_first"], r["pct_of_previous"], r["dropped_from_previous"])
            for r in out["funnel"]] == [(0, None, None, None), (0, None, None, 0)]


def test_funnel_figures_round_half_away_from_zero(run_journey):
    # 8 customers reach a, 1 reaches b: 12.5 %; 3 reach a, 2 reach b: 66.67 %
    events = [ev(c, "a", dt(2024, 1, 1)) for c in range(8)] + [ev(0, "b", dt(2024, 1, 2))]
    out = run_journey(journey(m("a", {"event": "a"}), m("b", {"event": "b"})), events, None, AS_OF)
    assert [(r["customers_reached"], r["pct_of_first"], r["pct_of_previous"], r["dropped_from_previous"])
            for r in out["funnel"]] == [(8, 100.0, None, None), (1, 12.5, 12.5, 7)]
    events = [ev(c, "a", dt(2024, 1, 1)) for c in range(3)] + [ev(0, "b", dt(2024, 1, 2)), ev(1, "b", dt(2024, 1, 3))]
    out = run_journey(journey(m("a", {"event": "a"}), m("b", {"event": "b"})), events, None, AS_OF)
    row = out["funnel"][1]
    # median of 1 day and 2 days = 1.5 days
    assert (row["pct_of_first"], row["median_days_from_previous"]) == (66.67, 1.5)
    # 1/800 of 100 = 0.125 -> 0.13 (half away from zero on the exact value)
    events = [ev(c, "a", dt(2024, 1, 1)) for c in range(800)] + [ev(0, "b", dt(2024, 1, 2))]
    out = run_journey(journey(m("a", {"event": "a"}), m("b", {"event": "b"})), events, None, AS_OF)
    assert out["funnel"][1]["pct_of_first"] == 0.13


def test_median_days_rounds_exact_half(run_journey):
    # gaps of 0.005 days (432 s) and 0.01 days: the median 0.0075 days -> 0.01; one gap 0.005 -> 0.01
    base = dt(2024, 1, 1)
    from datetime import timedelta
    events = [ev(1, "a", base), ev(1, "b", base + timedelta(seconds=432))]
    out = run_journey(journey(m("a", {"event": "a"}), m("b", {"event": "b"})), events, None, AS_OF)
    assert out["funnel"][1]["median_days_from_previous"] == 0.01


def test_median_days_never_negative_zero(run_journey):
    # independent order: b a minute before a (-0.0007 days) rounds to 0.0, not -0.0 (PostgreSQL's
    # and Spark's sign() is a DOUBLE: -1.0 * 0 was -0.0, "-0.0 days" to a reader); found by the
    # property test. A gap of -2.27 days keeps its sign.
    from datetime import timedelta
    base = dt(2024, 1, 1)
    for gap, expected in ((timedelta(minutes=-1), 0.0), (timedelta(days=-2.27), -2.27)):
        events = [ev(1, "a", base), ev(1, "b", base + gap)]
        out = run_journey(journey(m("a", {"event": "a"}), m("b", {"event": "b"}), order="independent"),
                          events, None, AS_OF)
        median = out["funnel"][1]["median_days_from_previous"]
        assert (median, math.copysign(1.0, median)) == (expected, math.copysign(1.0, expected)), gap


def test_customer_progress_columns(run_journey):
    events = [ev(1, "a", dt(2024, 12, 1)), ev(1, "b", dt(2024, 12, 2, 12))]
    out = run_journey(journey(m("a", {"event": "a"}), m("b", {"event": "b"}), m("c", {"event": "c"})), events, None,
                      dt(2024, 12, 3))
    row = out["customer_progress"][0]
    assert row == {"journey": "j", "customer_id": 1, "signed_up_at": None, "milestones_reached": 2,
                   "current_milestone": "b", "current_phase": "p", "current_reached_at": dt(2024, 12, 2, 12),
                   "next_milestone": "c", "days_since_progress": 0.5}


@pytest.mark.parametrize("order", ["sequential", "independent"])
def test_status_in_progress_and_reached(run_journey, order):
    events = [ev(1, "a", dt(2024, 1, 1))]
    out = run_journey(journey(m("a", {"event": "a"}), m("b", {"event": "b"}), order=order), events, None, AS_OF)
    assert statuses(out) == {(1, "a"): "reached", (1, "b"): "in_progress"}
    assert [r["milestone_index"] for r in out["milestone_status"]] == [1, 2]


def test_sequential_order_is_kept_when_a_later_milestone_has_fewer_dependencies(run_journey):
    # found by the property test: m2 is anchored on m1, m3 (per day) only follows m2 in journey order
    events = [ev(1, "a", dt(2024, 1, 1, 1)), ev(1, "a", dt(2024, 1, 1, 2)), ev(1, "a", dt(2024, 1, 2))]
    out = run_journey(journey(m("m1", {"event": "a"}), m("m2", {"event": "a"}, within={"days": 0, "of": "m1"}),
                              m("m3", {"event": "a", "at_least": 2}, per="day")), events, None, AS_OF)
    # m3: day Jan 1 qualifies from 02:00 (2nd event that day), m2 reached at 01:00 -> max = 02:00
    assert reached(out) == {(1, "m1"): dt(2024, 1, 1, 1), (1, "m2"): dt(2024, 1, 1, 1), (1, "m3"): dt(2024, 1, 1, 2)}
