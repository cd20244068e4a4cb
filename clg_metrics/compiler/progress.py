"""The shape of a journey's progress table (one row per customer), and what the outputs read from
it: each milestone's ``reached_at`` column, its ``within`` anchor, and its status (SPEC §3)."""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from ..spec import Journey
from .segments import state_columns
from .sqlfns import col, interval, is_not_null, timestamp


def reached_column(index: int) -> str:
    """The progress model's column holding milestone ``index``'s reached_at (1-based)."""
    return f"r_{index}"


# Per customer, the first and the latest event of any name at or before as_of (SPEC §4: the
# cohort anchor without a signup, and win_back's last_seen_at).
EVENT_SPAN = ("first_event_at", "last_event_at")


def periods_column(index: int) -> str:
    """The progress model's column listing the period keys in which ``per`` milestone ``index``'s
    condition holds (the periods ending a streak), for ``period_kpis``."""
    return f"k_{index}"


def progress_columns(journey: Journey) -> list[str]:
    """The columns of a journey's progress model, in order."""
    milestones = [m for _, m in journey.milestones]
    return (["customer_id", "signed_up_at"] + [reached_column(i) for i in range(1, len(milestones) + 1)]
            + [*EVENT_SPAN] + state_columns(journey)
            + [periods_column(i) for i, m in enumerate(milestones, 1) if m.effective_per is not None])


def anchor_expr(journey: Journey, i: int, table: str | None) -> exp.Expr:
    """The moment milestone ``i``'s ``within`` counts from, as a column of the progress table."""
    milestones = [m for _, m in journey.milestones]
    within = milestones[i - 1].effective_within
    if within.of == "signup":
        return col("signed_up_at", table)
    if within.of == "previous":
        return col(reached_column(i - 1), table)
    index = {m.milestone: n for n, m in enumerate(milestones, 1)}
    return col(reached_column(index[within.of]), table)


def status_expr(journey: Journey, i: int, as_of: datetime, table: str | None = None) -> exp.Expr:
    """reached | not_eligible | missed | in_progress of milestone ``i``, as of ``as_of`` (SPEC §3).

    Computed in the outputs from the progress table's columns, so the progress table itself does
    not depend on as_of beyond which events count (an incremental build can keep its rows).
    """
    milestone = [m for _, m in journey.milestones][i - 1]
    cases = [(is_not_null(col(reached_column(i), table)), "reached")]
    if journey.order == "sequential" and i > 1:
        cases.append((exp.Is(this=col(reached_column(i - 1), table), expression=exp.null()), "not_eligible"))
    within = milestone.effective_within
    if within is not None:
        anchor = anchor_expr(journey, i, table)
        cases.append((exp.Is(this=anchor, expression=exp.null()), "not_eligible"))
        deadline = exp.Add(this=anchor.copy(), expression=interval(within.amount, within.unit))
        cases.append((exp.LT(this=deadline, expression=timestamp(as_of)), "missed"))
    return exp.Case(ifs=[exp.If(this=c, true=exp.Literal.string(s)) for c, s in cases],
                    default=exp.Literal.string("in_progress"))
