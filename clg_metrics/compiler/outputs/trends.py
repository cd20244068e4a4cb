"""``kpi_trend`` and ``period_kpis`` (SPEC §4): KPIs per calendar period, every period from the
first with data to the one holding ``as_of`` (empty periods included).

Periods are ``period_key`` integers (``sqlfns``), so the run of periods is a plain integer series
and its start dates come from ``key_to_date``.
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from ...spec import Journey
from ..progress import periods_column, reached_column
from ..sqlfns import col, is_not_null, key_to_date, period_key, period_key_of
from .common import T, by_index, empty, metadata, text, union_all
from .table import BuiltJourney, OutputTable

TREND_COLUMNS = (("journey", T.VARCHAR), ("milestone_index", T.INT), ("milestone", T.VARCHAR),
                 ("period_start", T.DATE), ("newly_reached", T.BIGINT), ("reached_to_date", T.BIGINT))
PERIOD_COLUMNS = (("journey", T.VARCHAR), ("milestone_index", T.INT), ("milestone", T.VARCHAR), ("per", T.VARCHAR),
                  ("period_start", T.DATE), ("customers_qualified", T.BIGINT))


def _series(counts: exp.Select, last_key: int) -> exp.Subquery:
    """Every period key from the smallest in ``counts`` (column ``k``) to ``last_key``; no rows
    when ``counts`` is empty."""
    bounds = exp.select(exp.alias_(exp.Min(this=col("k")), "lo", quoted=True)).from_(counts.subquery("c"), copy=False)
    series = exp.Unnest(expressions=[exp.GenerateSeries(start=col("lo", "b"), end=exp.Literal.number(last_key))],
                        alias=exp.TableAlias(this=exp.to_identifier("s"), columns=[exp.to_identifier("k")]))
    return (exp.select(col("k", "s")).from_(bounds.subquery("b"), copy=False)
            .join(series, join_type="CROSS", copy=False).subquery("g"))


def journey_trend(journey: Journey, table: str, as_of: datetime) -> exp.Select:
    grain = journey.analysis.trend
    reached = by_index(journey, lambda i: col(reached_column(i), "p"))
    key = period_key(reached.copy(), grain)
    counts = (exp.select(col("milestone_index", "d"), exp.alias_(key, "k", quoted=True),
                         exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True))
              .from_(exp.alias_(exp.to_table(table), "p"), copy=False).join(metadata(journey), join_type="CROSS",
                                                                           copy=False)
              .where(is_not_null(reached), copy=False).group_by(col("milestone_index", "d"), key.copy(), copy=False))
    newly = exp.Coalesce(this=col("n", "c"), expressions=[exp.Literal.number(0)])
    to_date = exp.Window(this=exp.Sum(this=newly.copy()), partition_by=[col("milestone_index", "d")],
                         order=exp.Order(expressions=[exp.Ordered(this=col("k", "g"))]),
                         spec=exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW"))
    on = exp.and_(exp.EQ(this=col("milestone_index", "c"), expression=col("milestone_index", "d")),
                  exp.EQ(this=col("k", "c"), expression=col("k", "g")))
    return (exp.select(exp.alias_(text(journey.journey), "journey", quoted=True), col("milestone_index", "d"),
                       col("milestone", "d"), exp.alias_(key_to_date(col("k", "g"), grain), "period_start", quoted=True),
                       exp.alias_(exp.cast(newly, T.BIGINT), "newly_reached", quoted=True),
                       exp.alias_(exp.cast(to_date, T.BIGINT), "reached_to_date", quoted=True))
            .from_(_series(counts, period_key_of(as_of, grain)), copy=False)
            .join(metadata(journey), join_type="CROSS", copy=False)
            .join(counts.subquery("c"), on=on, join_type="LEFT", copy=False))


def build_trend(journeys: list[BuiltJourney], as_of: datetime) -> exp.Query:
    selects = [journey_trend(journey, table, as_of) for journey, table, *_ in journeys if journey.milestones]
    return union_all(selects, empty(TREND_COLUMNS))


def milestone_periods(journey: Journey, table: str, index: int, as_of: datetime) -> exp.Select:
    """One ``per`` milestone's periods and how many customers qualified in each."""
    milestone = [m for _, m in journey.milestones][index - 1]
    grain = milestone.effective_per
    periods = exp.Unnest(expressions=[col(periods_column(index), "p")],
                         alias=exp.TableAlias(this=exp.to_identifier("u"), columns=[exp.to_identifier("k")]))
    counts = (exp.select(exp.alias_(col("k", "u"), "k", quoted=True), exp.alias_(exp.Count(this=exp.Star()), "n",
                                                                                 quoted=True))
              .from_(exp.alias_(exp.to_table(table), "p"), copy=False).join(periods, join_type="CROSS", copy=False)
              .group_by(col("k", "u"), copy=False))
    qualified = exp.Coalesce(this=col("n", "c"), expressions=[exp.Literal.number(0)])
    return (exp.select(exp.alias_(text(journey.journey), "journey", quoted=True),
                       exp.alias_(exp.cast(exp.Literal.number(index), T.INT), "milestone_index", quoted=True),
                       exp.alias_(text(milestone.milestone), "milestone", quoted=True),
                       exp.alias_(text(grain), "per", quoted=True),
                       exp.alias_(key_to_date(col("k", "g"), grain), "period_start", quoted=True),
                       exp.alias_(exp.cast(qualified, T.BIGINT), "customers_qualified", quoted=True))
            .from_(_series(counts, period_key_of(as_of, grain)), copy=False)
            .join(counts.subquery("c"), on=exp.EQ(this=col("k", "c"), expression=col("k", "g")), join_type="LEFT",
                  copy=False))


def build_periods(journeys: list[BuiltJourney], as_of: datetime) -> exp.Query:
    selects = [milestone_periods(journey, table, i, as_of) for journey, table, *_ in journeys
               for i, (_, m) in enumerate(journey.milestones, 1) if m.effective_per is not None]
    return union_all(selects, empty(PERIOD_COLUMNS))


KPI_TREND = OutputTable("kpi_trend", TREND_COLUMNS, build_trend, order_by=("journey", "milestone_index", "period_start"))
PERIOD_KPIS = OutputTable("period_kpis", PERIOD_COLUMNS, build_periods,
                          order_by=("journey", "milestone_index", "period_start"))
