"""``segment_funnel`` (SPEC §4): the funnel of SPEC §3 per journey × segment (``all`` and the
declared ones) × milestone, over the segment's members; its ``all`` rows equal ``funnel``."""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from . import funnel
from .common import T, empty, union_all
from .table import BuiltJourney, OutputTable

COLUMNS = funnel.COLUMNS[:1] + (("segment", T.VARCHAR),) + funnel.COLUMNS[1:]


def build(journeys: list[BuiltJourney], as_of: datetime) -> exp.Query:
    selects = [funnel.journey_funnel(journey, table, by_segment=True)
               for journey, table, *_ in journeys if journey.milestones]
    return union_all(selects, empty(COLUMNS))


TABLE = OutputTable("segment_funnel", COLUMNS, build, order_by=("journey", "segment", "milestone_index"),
                    reads=("segment_members",))
