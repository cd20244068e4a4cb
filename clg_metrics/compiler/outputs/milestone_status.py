"""``milestone_status`` (SPEC §3): one row per journey × customer × milestone, with its status."""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from ..progress import reached_column, status_expr
from ..sqlfns import col, is_not_null
from ...spec import Journey
from .common import T, as_of_values_changed, by_index, empty, metadata, text, union_all
from .table import BuiltJourney, OutputTable, PerCustomer

COLUMNS = (("journey", T.VARCHAR), ("customer_id", T.VARCHAR), ("phase", T.VARCHAR), ("milestone", T.VARCHAR),
           ("milestone_index", T.INT), ("kpi", T.VARCHAR), ("reached_at", T.TIMESTAMP), ("is_reached", T.BOOLEAN),
           ("status", T.VARCHAR))


def build(journeys: list[BuiltJourney], as_of: datetime) -> exp.Query:
    """The wide progress row unpivoted with one pass: a CROSS JOIN with the milestones' VALUES."""
    selects = []
    for journey, table, *_ in journeys:
        if not journey.milestones:
            continue
        reached = by_index(journey, lambda i: col(reached_column(i), "w"))
        selects.append(
            exp.select(
                exp.alias_(text(journey.journey), "journey", quoted=True),
                col("customer_id", "w"), col("phase", "d"), col("milestone", "d"), col("milestone_index", "d"),
                col("kpi", "d"),
                exp.alias_(reached, "reached_at", quoted=True),
                exp.alias_(is_not_null(reached), "is_reached", quoted=True),
                exp.alias_(by_index(journey, lambda i: status_expr(journey, i, as_of, "w")), "status", quoted=True),
            ).from_(exp.alias_(exp.to_table(table), "w"), copy=False).join(metadata(journey), join_type="CROSS",
                                                                           copy=False)
        )
    return union_all(selects, empty(COLUMNS))


def statuses(journey: Journey, as_of: datetime, table: str) -> list[exp.Expr]:
    """What of a customer's rows depends on as_of: the statuses (``missed`` once a deadline passed)."""
    return [status_expr(journey, i, as_of, table) for i in range(1, len(journey.milestones) + 1)]


TABLE = OutputTable("milestone_status", COLUMNS, build, order_by=("journey", "customer_id", "milestone_index"),
                    per_customer=PerCustomer(changed=as_of_values_changed(statuses)))
