"""Builders the output tables share: milestone metadata as VALUES, unpivoting by index, UNION ALL
over journeys, and the typed empty table."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlglot import exp

from ...spec import Journey
from ..progress import reached_column
from ..sqlfns import col, is_not_null
from .table import BuiltJourney, Changed

T = exp.DataType.Type
Columns = tuple[tuple[str, "exp.DataType.Type"], ...]


def text(value: str | None) -> exp.Expr:
    return exp.cast(exp.Literal.string(value) if value is not None else exp.null(), T.VARCHAR)


def metadata(journey: Journey) -> exp.Values:
    """(milestone_index, phase, milestone, kpi) for each milestone, as a VALUES table ``d``."""
    rows = [exp.Tuple(expressions=[exp.cast(exp.Literal.number(i), T.INT), text(phase.phase),
                                   text(m.milestone), text(m.kpi)])
            for i, (phase, m) in enumerate(journey.milestones, 1)]
    return exp.Values(expressions=rows, alias=exp.TableAlias(
        this=exp.to_identifier("d"),
        columns=[exp.to_identifier(c) for c in ("milestone_index", "phase", "milestone", "kpi")]))


def by_index(journey: Journey, value) -> exp.Expr:
    """CASE d.milestone_index WHEN 1 THEN value(1) ... END."""
    return exp.Case(this=col("milestone_index", "d"),
                    ifs=[exp.If(this=exp.Literal.number(i), true=value(i)) for i in range(1, len(journey.milestones) + 1)])


def union_all(selects: list[exp.Select], empty: exp.Select) -> exp.Query:
    if not selects:
        return empty
    query: exp.Query = selects[0]
    for select in selects[1:]:
        query = exp.union(query, select, distinct=False)
    return query


def empty(columns: Columns) -> exp.Select:
    """A typed zero-row SELECT, so a project whose journeys have no milestones still gets the table."""
    return exp.select(*[exp.alias_(exp.cast(exp.null(), kind), name, quoted=True)
                        for name, kind in columns]).where(exp.false(), copy=False)


def latest_reached(journey: Journey, value) -> exp.Expr:
    """value(i) for the reached milestone with the highest index, NULL if none reached."""
    count = len(journey.milestones)
    return exp.Case(ifs=[exp.If(this=is_not_null(col(reached_column(i))), true=value(i))
                         for i in range(count, 0, -1)])


ALL_SEGMENT = "all"  # SPEC §4: every customer of the journey


def segment_names(journey: Journey) -> list[str]:
    """``all`` and the declared segments, in the journey's order."""
    return [ALL_SEGMENT] + [s.segment for s in journey.segments]


def names_values(names: list[str], alias: str, column: str) -> exp.Values:
    """A one-column VALUES table of names."""
    return exp.Values(expressions=[exp.Tuple(expressions=[text(n)]) for n in names],
                      alias=exp.TableAlias(this=exp.to_identifier(alias), columns=[exp.to_identifier(column)]))


def segment_rows(journey: Journey, table: str) -> exp.Subquery:
    """The journey's progress rows once per segment they belong to (``all`` for every row), with
    a ``segment`` column: what every per-segment table aggregates over."""
    everyone = exp.select(exp.alias_(text(ALL_SEGMENT), "segment", quoted=True),
                          exp.Column(this=exp.Star(), table=exp.to_identifier("p"))).from_(
        exp.alias_(exp.to_table(table), "p"), copy=False)
    query: exp.Query = everyone
    if journey.segments:
        members = (exp.select(col("segment", "m"), exp.Column(this=exp.Star(), table=exp.to_identifier("p")))
                   .from_(exp.alias_(exp.to_table(table), "p"), copy=False)
                   .join(exp.alias_(exp.to_table("segment_members"), "m"), on=exp.and_(
                       exp.EQ(this=col("customer_id", "m"), expression=col("customer_id", "p")),
                       exp.EQ(this=col("journey", "m"), expression=text(journey.journey))), copy=False))
        query = exp.union(everyone, members, distinct=False)
    return query.subquery("x")


def as_of_values_changed(values: Callable[[Journey, datetime, str], list[exp.Expr]]) -> Changed:
    """``PerCustomer.changed`` from the expressions (over a progress row aliased by the last
    argument) through which a table's rows depend on ``as_of``: the customers for whom any of them
    differs between the previous build's as_of and this one, computed at both over their rows."""
    def changed(built: BuiltJourney, previous_as_of: datetime, as_of: datetime, published: str) -> exp.Query | None:
        if previous_as_of == as_of:
            return None
        pairs = list(zip(values(built.journey, previous_as_of, "p"), values(built.journey, as_of, "p")))
        if not pairs:
            return None
        differs = exp.or_(*[exp.NullSafeNEQ(this=old, expression=new) for old, new in pairs])
        return exp.select(col("customer_id", "p")).from_(exp.alias_(exp.to_table(built.table), "p"),
                                                         copy=False).where(differs, copy=False)

    return changed
