"""``segment_members`` (SPEC §4): one row per journey × declared segment × member, as of ``as_of``."""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from ..segments import SegmentPredicates
from ..sqlfns import col
from .common import T, empty, text, union_all
from .table import BuiltJourney, OutputTable, PerCustomer

COLUMNS = (("journey", T.VARCHAR), ("segment", T.VARCHAR), ("customer_id", T.VARCHAR))


def build(journeys: list[BuiltJourney], as_of: datetime) -> exp.Query:
    """Each segment's predicate (``conditions/segment.py``) over the journey's progress rows."""
    selects = []
    for built in journeys:
        journey = built.journey
        predicates = SegmentPredicates(journey, "p", as_of, built.customer_columns, built.sql_dialect)
        for index, segment in enumerate(journey.segments, 1):
            selects.append(exp.select(exp.alias_(text(journey.journey), "journey", quoted=True),
                                      exp.alias_(text(segment.segment), "segment", quoted=True),
                                      col("customer_id", "p"))
                           .from_(exp.alias_(exp.to_table(built.table), "p"), copy=False)
                           .where(predicates.member(index), copy=False))
    return union_all(selects, empty(COLUMNS))


def changed_members(built: BuiltJourney, previous_as_of: datetime, as_of: datetime, published: str) -> exp.Query | None:
    """The customers whose memberships now differ from the published ones: the new memberships
    over all of the journey's progress rows (cheap: predicates over one row per customer) against
    the published rows. Exact whatever moved them — an ``in_last`` window, a status, a signup's
    age, or a column of the customers source, which no progress row holds."""
    if not built.journey.segments:
        return None
    new = build([built], as_of).subquery("n")
    old = (exp.select(col("segment"), col("customer_id")).from_(exp.to_table(published), copy=False)
           .where(exp.EQ(this=col("journey"), expression=text(built.journey.journey)), copy=False).subquery("o"))
    same = exp.and_(exp.EQ(this=col("segment", "n"), expression=col("segment", "o")),
                    exp.EQ(this=col("customer_id", "n"), expression=col("customer_id", "o")))
    return (exp.select(exp.alias_(exp.Coalesce(this=col("customer_id", "n"), expressions=[col("customer_id", "o")]),
                                  "customer_id", quoted=True))
            .from_(new, copy=False).join(old, on=same, join_type="FULL OUTER", copy=False)
            .where(exp.or_(exp.Is(this=col("customer_id", "n"), expression=exp.null()),
                           exp.Is(this=col("customer_id", "o"), expression=exp.null())), copy=False))


TABLE = OutputTable("segment_members", COLUMNS, build, order_by=("journey", "segment", "customer_id"),
                    per_customer=PerCustomer(changed=changed_members))
