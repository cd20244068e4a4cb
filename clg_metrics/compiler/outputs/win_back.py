"""``win_back`` (SPEC §4): customers on the way (their next milestone ``in_progress``) who went
quiet: no event for at least ``analysis.win_back.inactive_days`` before ``as_of``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlglot import exp

from ...spec import Journey
from ..progress import EVENT_SPAN, reached_column, status_expr
from ..sqlfns import US_PER_DAY, col, days_from_us, epoch_micros, epoch_us, is_not_null
from .common import T, empty, text, union_all
from .customer_progress import progress_fields
from .table import BuiltJourney, OutputTable, PerCustomer

COLUMNS = (("journey", T.VARCHAR), ("customer_id", T.VARCHAR), ("signed_up_at", T.TIMESTAMP),
           ("current_milestone", T.VARCHAR), ("next_milestone", T.VARCHAR), ("current_reached_at", T.TIMESTAMP),
           ("last_seen_at", T.TIMESTAMP), ("days_inactive", T.DOUBLE), ("days_since_progress", T.DOUBLE))


def _next_status(journey: Journey, as_of: datetime) -> exp.Expr:
    """The status of the milestone after the highest reached one (the first when none is)."""
    count = len(journey.milestones)
    if count == 1:
        return status_expr(journey, 1, as_of)
    return exp.Case(ifs=[exp.If(this=is_not_null(col(reached_column(i))), true=status_expr(journey, i + 1, as_of))
                         for i in range(count - 1, 0, -1)], default=status_expr(journey, 1, as_of))


def journey_win_back(journey: Journey, table: str, as_of: datetime) -> exp.Select:
    count = len(journey.milestones)
    last_seen = exp.Coalesce(this=col(EVENT_SPAN[1]), expressions=[col("signed_up_at")])
    inactive = exp.Sub(this=exp.Literal.number(epoch_micros(as_of)), expression=epoch_us(last_seen.copy()))
    threshold = Decimal(repr(journey.analysis.win_back.inactive_days)) * US_PER_DAY
    fields = progress_fields(journey, as_of)
    rows = (exp.select(exp.alias_(text(journey.journey), "journey", quoted=True), col("customer_id"),
                       col("signed_up_at"),
                       *[exp.alias_(fields[c], c, quoted=True)
                         for c in ("current_milestone", "next_milestone", "current_reached_at")],
                       exp.alias_(last_seen, "last_seen_at", quoted=True),
                       exp.alias_(days_from_us(inactive), "days_inactive", quoted=True),
                       exp.alias_(fields["days_since_progress"], "days_since_progress", quoted=True))
            .from_(table, copy=False)
            .where(exp.and_(exp.Is(this=col(reached_column(count)), expression=exp.null()),
                            exp.EQ(this=_next_status(journey, as_of), expression=exp.Literal.string("in_progress")),
                            is_not_null(last_seen.copy()),
                            exp.GTE(this=inactive.copy(), expression=exp.Literal.number(str(threshold)))),
                   copy=False))
    return rows


def build(journeys: list[BuiltJourney], as_of: datetime) -> exp.Query:
    selects = [journey_win_back(journey, table, as_of) for journey, table, *_ in journeys if journey.milestones]
    return union_all(selects, empty(COLUMNS))


# days_inactive and days_since_progress count from as_of: every row changes whenever as_of moves
TABLE = OutputTable("win_back", COLUMNS, build, order_by=("journey", "customer_id"),
                    per_customer=PerCustomer(moves_with_as_of=True))
