"""The output tables of SPEC §3, built from each journey's progress model.

One set of tables serves every journey: each output is a UNION ALL of one SELECT per journey
over that journey's progress table (one row per customer, a ``r_<i>`` column per milestone). Milestone metadata (index, phase, name, kpi) enters as a VALUES list, so the
wide row is unpivoted with a single pass and a CASE rather than one scan per milestone.
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from ..spec import Journey
from .journey import reached_column, status_expr
from .sqlfns import col, days_from_us, epoch_us, is_not_null, percent, timestamp

STATUS_COLUMNS = ("journey", "customer_id", "phase", "milestone", "milestone_index", "kpi", "reached_at",
                  "is_reached", "status")
PROGRESS_COLUMNS = ("journey", "customer_id", "signed_up_at", "milestones_reached", "current_milestone",
                    "current_phase", "current_reached_at", "next_milestone", "days_since_progress")
FUNNEL_COLUMNS = ("journey", "milestone_index", "phase", "milestone", "kpi", "customers_reached", "pct_of_first",
                  "pct_of_previous", "dropped_from_previous", "median_days_from_previous")

T = exp.DataType.Type


def _text(value: str | None) -> exp.Expr:
    return exp.cast(exp.Literal.string(value) if value is not None else exp.null(), T.VARCHAR)


def _metadata(journey: Journey) -> exp.Values:
    """(milestone_index, phase, milestone, kpi) for each milestone, as a VALUES table ``d``."""
    rows = [exp.Tuple(expressions=[exp.cast(exp.Literal.number(i), T.INT), _text(phase.phase),
                                   _text(m.milestone), _text(m.kpi)])
            for i, (phase, m) in enumerate(journey.milestones, 1)]
    return exp.Values(expressions=rows, alias=exp.TableAlias(
        this=exp.to_identifier("d"),
        columns=[exp.to_identifier(c) for c in ("milestone_index", "phase", "milestone", "kpi")]))


def _by_index(journey: Journey, value) -> exp.Expr:
    """CASE d.milestone_index WHEN 1 THEN value(1) ... END."""
    return exp.Case(this=col("milestone_index", "d"),
                    ifs=[exp.If(this=exp.Literal.number(i), true=value(i)) for i in range(1, len(journey.milestones) + 1)])


def _union(selects: list[exp.Select], empty: exp.Select) -> exp.Query:
    if not selects:
        return empty
    query: exp.Query = selects[0]
    for select in selects[1:]:
        query = exp.union(query, select, distinct=False)
    return query


def _empty(columns: tuple[str, ...], types: dict[str, T]) -> exp.Select:
    """A typed zero-row SELECT, so a project whose journeys have no milestones still gets the table."""
    return exp.select(*[exp.alias_(exp.cast(exp.null(), types.get(c, T.VARCHAR)), c, quoted=True)
                        for c in columns]).where(exp.false(), copy=False)


def milestone_status(journeys: list[tuple[Journey, str]], as_of: datetime) -> exp.Query:
    """One row per journey × customer × milestone."""
    selects = []
    for journey, table in journeys:
        if not journey.milestones:
            continue
        reached = _by_index(journey, lambda i: col(reached_column(i), "w"))
        selects.append(
            exp.select(
                exp.alias_(_text(journey.journey), "journey", quoted=True),
                col("customer_id", "w"), col("phase", "d"), col("milestone", "d"), col("milestone_index", "d"),
                col("kpi", "d"),
                exp.alias_(reached, "reached_at", quoted=True),
                exp.alias_(is_not_null(reached), "is_reached", quoted=True),
                exp.alias_(_by_index(journey, lambda i: status_expr(journey, i, as_of, "w")), "status", quoted=True),
            ).from_(exp.alias_(exp.to_table(table), "w"), copy=False).join(_metadata(journey), join_type="CROSS", copy=False)
        )
    types = {"milestone_index": T.INT, "reached_at": T.TIMESTAMP, "is_reached": T.BOOLEAN}
    return _union(selects, _empty(STATUS_COLUMNS, types))


def _latest_reached(journey: Journey, value) -> exp.Expr:
    """value(i) for the reached milestone with the highest index, NULL if none reached."""
    count = len(journey.milestones)
    return exp.Case(ifs=[exp.If(this=is_not_null(col(reached_column(i))), true=value(i))
                         for i in range(count, 0, -1)])


def customer_progress(journeys: list[tuple[Journey, str]], as_of: datetime) -> exp.Query:
    """One row per journey × customer: how far the customer got, and what is next."""
    selects = []
    for journey, table in journeys:
        milestones = journey.milestones
        count = len(milestones)
        reached = [exp.Case(ifs=[exp.If(this=is_not_null(col(reached_column(i))), true=exp.Literal.number(1))],
                            default=exp.Literal.number(0)) for i in range(1, count + 1)]
        total = reached[0] if reached else exp.Literal.number(0)
        for part in reached[1:]:
            total = exp.Add(this=total, expression=part)
        if count:
            current = _latest_reached(journey, lambda i: _text(milestones[i - 1][1].milestone))
            phase = _latest_reached(journey, lambda i: _text(milestones[i - 1][0].phase))
            current_at = _latest_reached(journey, lambda i: col(reached_column(i)))
            following = exp.Case(
                ifs=[exp.If(this=is_not_null(col(reached_column(i))),
                            true=_text(milestones[i][1].milestone) if i < count else _text(None))
                     for i in range(count, 0, -1)],
                default=_text(milestones[0][1].milestone))
        else:
            current = phase = following = _text(None)
            current_at = exp.cast(exp.null(), T.TIMESTAMP)
        since = exp.Sub(this=epoch_us(timestamp(as_of)), expression=epoch_us(current_at.copy()))
        selects.append(exp.select(
            exp.alias_(_text(journey.journey), "journey", quoted=True), col("customer_id"), col("signed_up_at"),
            exp.alias_(exp.cast(total, T.INT), "milestones_reached", quoted=True),
            exp.alias_(current, "current_milestone", quoted=True),
            exp.alias_(phase, "current_phase", quoted=True),
            exp.alias_(current_at, "current_reached_at", quoted=True),
            exp.alias_(following, "next_milestone", quoted=True),
            exp.alias_(days_from_us(since), "days_since_progress", quoted=True),
        ).from_(table, copy=False))
    types = {"signed_up_at": T.TIMESTAMP, "milestones_reached": T.INT, "current_reached_at": T.TIMESTAMP,
             "days_since_progress": T.DOUBLE}
    return _union(selects, _empty(PROGRESS_COLUMNS, types))


def funnel(journeys: list[tuple[Journey, str]]) -> exp.Query:
    """One row per journey × milestone: customers reached, conversion, drop-off, median time."""
    selects = []
    for journey, table in journeys:
        count = len(journey.milestones)
        if not count:
            continue
        counts = [exp.alias_(exp.Count(this=col(reached_column(i))), f"c_{i}", quoted=True) for i in range(1, count + 1)]
        medians = [
            exp.alias_(exp.Median(this=exp.Sub(this=epoch_us(col(reached_column(i))),
                                               expression=epoch_us(col(reached_column(i - 1))))), f"md_{i}", quoted=True)
            for i in range(2, count + 1)
        ]
        totals = exp.select(*counts, *medians).from_(table, copy=False).subquery("t")
        reached = _by_index(journey, lambda i: col(f"c_{i}", "t"))
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
        selects.append(exp.select(
            exp.alias_(_text(journey.journey), "journey", quoted=True), col("milestone_index", "d"), col("phase", "d"),
            col("milestone", "d"), col("kpi", "d"),
            exp.alias_(exp.cast(reached, T.BIGINT), "customers_reached", quoted=True),
            exp.alias_(percent(reached.copy(), col("c_1", "t")), "pct_of_first", quoted=True),
            exp.alias_(percent(reached.copy(), previous), "pct_of_previous", quoted=True),
            exp.alias_(exp.cast(exp.Sub(this=previous.copy(), expression=reached.copy()), T.BIGINT),
                       "dropped_from_previous", quoted=True),
            exp.alias_(median_days, "median_days_from_previous", quoted=True),
        ).from_(totals, copy=False).join(_metadata(journey), join_type="CROSS", copy=False))
    types = {"milestone_index": T.INT, "customers_reached": T.BIGINT, "pct_of_first": T.DOUBLE,
             "pct_of_previous": T.DOUBLE, "dropped_from_previous": T.BIGINT, "median_days_from_previous": T.DOUBLE}
    return _union(selects, _empty(FUNNEL_COLUMNS, types))


__all__ = ["milestone_status", "customer_progress", "funnel"]
