"""``cohort_funnel`` (SPEC §4): per journey × signup cohort (week or month) × milestone, how many
reached it, and how many within ``analysis.cohorts.within`` of their own anchor.

A customer's anchor is ``signed_up_at``, else (no customers source, or a NULL signup) their first
event at or before ``as_of``; customers with neither are left out.
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from ...spec import Journey
from ..progress import EVENT_SPAN, reached_column
from ..sqlfns import col, interval, is_not_null, key_to_date, percent, period_key, timestamp
from .common import T, by_index, empty, metadata, text, union_all
from .table import BuiltJourney, OutputTable

COLUMNS = (("journey", T.VARCHAR), ("cohort_start", T.DATE), ("milestone_index", T.INT), ("milestone", T.VARCHAR),
           ("cohort_size", T.BIGINT), ("customers_reached", T.BIGINT), ("pct_reached", T.DOUBLE),
           ("customers_reached_within", T.BIGINT), ("pct_reached_within", T.DOUBLE), ("is_complete", T.BOOLEAN))


def journey_cohorts(journey: Journey, table: str, as_of: datetime) -> exp.Select:
    settings = journey.analysis.cohorts
    window = settings.within
    count = len(journey.milestones)
    anchor = exp.Coalesce(this=col("signed_up_at"), expressions=[col(EVENT_SPAN[0])])
    anchored = (exp.select(exp.alias_(period_key(anchor.copy(), settings.per), "cohort", quoted=True),
                           exp.alias_(anchor, "anchor", quoted=True),
                           *[col(reached_column(i)) for i in range(1, count + 1)])
                .from_(table, copy=False).where(is_not_null(anchor.copy()), copy=False).subquery("a"))
    aggregates = [exp.alias_(exp.Count(this=exp.Star()), "size", quoted=True)]
    for i in range(1, count + 1):
        reached = col(reached_column(i), "a")
        deadline = exp.Add(this=col("anchor", "a"), expression=interval(window.amount, window.unit))
        aggregates += [exp.alias_(exp.Count(this=reached), f"c_{i}", quoted=True),
                       exp.alias_(exp.Count(this=exp.Case(ifs=[exp.If(
                           this=exp.LTE(this=reached.copy(), expression=deadline), true=exp.Literal.number(1))])),
                           f"w_{i}", quoted=True)]
    totals = (exp.select(col("cohort", "a"), *aggregates).from_(anchored, copy=False)
              .group_by(col("cohort", "a"), copy=False).subquery("t"))
    reached = by_index(journey, lambda i: col(f"c_{i}", "t"))
    within = by_index(journey, lambda i: col(f"w_{i}", "t"))
    size = col("size", "t")
    next_start = exp.cast(key_to_date(exp.Add(this=col("cohort", "t"), expression=exp.Literal.number(1)),
                                      settings.per), T.TIMESTAMP)
    complete = exp.LTE(this=exp.Add(this=next_start, expression=interval(window.amount, window.unit)),
                       expression=timestamp(as_of))
    return exp.select(
        exp.alias_(text(journey.journey), "journey", quoted=True),
        exp.alias_(key_to_date(col("cohort", "t"), settings.per), "cohort_start", quoted=True),
        col("milestone_index", "d"), col("milestone", "d"),
        exp.alias_(exp.cast(size, T.BIGINT), "cohort_size", quoted=True),
        exp.alias_(exp.cast(reached, T.BIGINT), "customers_reached", quoted=True),
        exp.alias_(percent(reached.copy(), size.copy()), "pct_reached", quoted=True),
        exp.alias_(exp.cast(within, T.BIGINT), "customers_reached_within", quoted=True),
        exp.alias_(percent(within.copy(), size.copy()), "pct_reached_within", quoted=True),
        exp.alias_(complete, "is_complete", quoted=True),
    ).from_(totals, copy=False).join(metadata(journey), join_type="CROSS", copy=False)


def build(journeys: list[BuiltJourney], as_of: datetime) -> exp.Query:
    selects = [journey_cohorts(journey, table, as_of) for journey, table, *_ in journeys if journey.milestones]
    return union_all(selects, empty(COLUMNS))


TABLE = OutputTable("cohort_funnel", COLUMNS, build, order_by=("journey", "cohort_start", "milestone_index"))
