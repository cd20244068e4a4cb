"""``customer_progress`` (SPEC §3): one row per journey × customer: how far they got, what is next."""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from ...spec import Journey
from ..progress import reached_column
from ..sqlfns import col, days_from_us, epoch_us, is_not_null, timestamp
from .common import T, empty, latest_reached, text, union_all
from .table import BuiltJourney, OutputTable, PerCustomer

COLUMNS = (("journey", T.VARCHAR), ("customer_id", T.VARCHAR), ("signed_up_at", T.TIMESTAMP),
           ("milestones_reached", T.INT), ("current_milestone", T.VARCHAR), ("current_phase", T.VARCHAR),
           ("current_reached_at", T.TIMESTAMP), ("next_milestone", T.VARCHAR), ("days_since_progress", T.DOUBLE))


def progress_fields(journey: Journey, as_of: datetime) -> dict[str, exp.Expr]:
    """The computed columns of ``customer_progress`` over a progress row (shared with ``win_back``)."""
    milestones = journey.milestones
    count = len(milestones)
    reached = [exp.Case(ifs=[exp.If(this=is_not_null(col(reached_column(i))), true=exp.Literal.number(1))],
                        default=exp.Literal.number(0)) for i in range(1, count + 1)]
    total = reached[0] if reached else exp.Literal.number(0)
    for part in reached[1:]:
        total = exp.Add(this=total, expression=part)
    if count:
        current = latest_reached(journey, lambda i: text(milestones[i - 1][1].milestone))
        phase = latest_reached(journey, lambda i: text(milestones[i - 1][0].phase))
        current_at = latest_reached(journey, lambda i: col(reached_column(i)))
        following = exp.Case(
            ifs=[exp.If(this=is_not_null(col(reached_column(i))),
                        true=text(milestones[i][1].milestone) if i < count else text(None))
                 for i in range(count, 0, -1)],
            default=text(milestones[0][1].milestone))
    else:
        current = phase = following = text(None)
        current_at = exp.cast(exp.null(), T.TIMESTAMP)
    since = exp.Sub(this=epoch_us(timestamp(as_of)), expression=epoch_us(current_at.copy()))
    return {"milestones_reached": exp.cast(total, T.INT), "current_milestone": current, "current_phase": phase,
            "current_reached_at": current_at, "next_milestone": following,
            "days_since_progress": days_from_us(since)}


def build(journeys: list[BuiltJourney], as_of: datetime) -> exp.Query:
    selects = []
    for journey, table, *_ in journeys:
        fields = progress_fields(journey, as_of)
        selects.append(exp.select(
            exp.alias_(text(journey.journey), "journey", quoted=True), col("customer_id"), col("signed_up_at"),
            *[exp.alias_(value, name, quoted=True) for name, value in fields.items()],
        ).from_(table, copy=False))
    return union_all(selects, empty(COLUMNS))


# days_since_progress count from as_of: every row changes whenever as_of moves
TABLE = OutputTable("customer_progress", COLUMNS, build, order_by=("journey", "customer_id"),
                    per_customer=PerCustomer(moves_with_as_of=True))
