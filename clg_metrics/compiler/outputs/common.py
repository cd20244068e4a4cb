"""Builders the output tables share: milestone metadata as VALUES, unpivoting by index, UNION ALL
over journeys, and the typed empty table."""

from __future__ import annotations

from sqlglot import exp

from ...spec import Journey
from ..journey import reached_column
from ..sqlfns import col, is_not_null

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
