"""``funnel`` (SPEC §3): one row per journey × milestone: customers reached, conversion, drop-off,
median time from the previous milestone."""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from ..progress import reached_column
from ..sqlfns import col, days_from_us, epoch_us, percent
from ...spec import Journey
from .common import T, by_index, empty, metadata, names_values, segment_names, segment_rows, text, union_all
from .table import BuiltJourney, OutputTable

COLUMNS = (("journey", T.VARCHAR), ("milestone_index", T.INT), ("phase", T.VARCHAR), ("milestone", T.VARCHAR),
           ("kpi", T.VARCHAR), ("customers_reached", T.BIGINT), ("pct_of_first", T.DOUBLE),
           ("pct_of_previous", T.DOUBLE), ("dropped_from_previous", T.BIGINT),
           ("median_days_from_previous", T.DOUBLE))


def journey_funnel(journey: Journey, table: str, by_segment: bool = False) -> exp.Select:
    """The funnel of one journey over its progress table; ``by_segment`` computes it once per
    segment (``all`` and the declared ones, each present even when it has no members) over the
    segment's members, with a ``segment`` column after ``journey`` (``segment_funnel``)."""
    count = len(journey.milestones)
    source = "x" if by_segment else None
    counts = [exp.alias_(exp.Count(this=col(reached_column(i), source)), f"c_{i}", quoted=True)
              for i in range(1, count + 1)]
    medians = [
        exp.alias_(exp.Median(this=exp.Sub(this=epoch_us(col(reached_column(i), source)),
                                           expression=epoch_us(col(reached_column(i - 1), source)))),
                   f"md_{i}", quoted=True)
        for i in range(2, count + 1)
    ]
    if by_segment:
        totals = (exp.select(col("segment", "g"), *counts, *medians)
                  .from_(names_values(segment_names(journey), "g", "segment"), copy=False)
                  .join(segment_rows(journey, table), on=exp.EQ(this=col("segment", "x"), expression=col("segment", "g")),
                        join_type="LEFT", copy=False)
                  .group_by(col("segment", "g"), copy=False).subquery("t"))
    else:
        totals = exp.select(*counts, *medians).from_(table, copy=False).subquery("t")
    reached = by_index(journey, lambda i: col(f"c_{i}", "t"))
    previous = exp.Case(this=col("milestone_index", "d"),
                        ifs=[exp.If(this=exp.Literal.number(i), true=col(f"c_{i - 1}", "t")) for i in range(2, count + 1)])
    if count == 1:
        previous = exp.cast(exp.null(), T.BIGINT)
    median = exp.Case(this=col("milestone_index", "d"),
                      ifs=[exp.If(this=exp.Literal.number(i), true=col(f"md_{i}", "t")) for i in range(2, count + 1)])
    if count == 1:
        median = exp.cast(exp.null(), T.DOUBLE)
    # The median of an even count is the mean of the two middle values: twice it is a whole number of
    # microseconds, which keeps the rounding exact.
    median_days = days_from_us(exp.Mul(this=median, expression=exp.Literal.number(2)), halves=True)
    segment = [col("segment", "t")] if by_segment else []
    return exp.select(
        exp.alias_(text(journey.journey), "journey", quoted=True), *segment, col("milestone_index", "d"),
        col("phase", "d"), col("milestone", "d"), col("kpi", "d"),
        exp.alias_(exp.cast(reached, T.BIGINT), "customers_reached", quoted=True),
        exp.alias_(percent(reached.copy(), col("c_1", "t")), "pct_of_first", quoted=True),
        exp.alias_(percent(reached.copy(), previous), "pct_of_previous", quoted=True),
        exp.alias_(exp.cast(exp.Sub(this=previous.copy(), expression=reached.copy()), T.BIGINT),
                   "dropped_from_previous", quoted=True),
        exp.alias_(median_days, "median_days_from_previous", quoted=True),
    ).from_(totals, copy=False).join(metadata(journey), join_type="CROSS", copy=False)


def build(journeys: list[BuiltJourney], as_of: datetime) -> exp.Query:
    """One row per journey × milestone: customers reached, conversion, drop-off, median time."""
    selects = [journey_funnel(journey, table) for journey, table, *_ in journeys if journey.milestones]
    return union_all(selects, empty(COLUMNS))


TABLE = OutputTable("funnel", COLUMNS, build, order_by=("journey", "milestone_index"))
