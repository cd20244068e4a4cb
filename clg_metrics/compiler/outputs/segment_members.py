"""``segment_members`` (SPEC §4): one row per journey × declared segment × member, as of ``as_of``."""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from ..segments import SegmentPredicates
from ..sqlfns import col
from .common import T, empty, text, union_all
from .table import BuiltJourney, OutputTable

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


TABLE = OutputTable("segment_members", COLUMNS, build, order_by=("journey", "segment", "customer_id"))
