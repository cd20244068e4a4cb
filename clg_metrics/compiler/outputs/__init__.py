"""The output tables (SPEC §3), one module each, all listed once in ``OUTPUT_TABLES``.

One set of tables serves every journey: each output is a UNION ALL of one SELECT per journey over
that journey's progress table (one row per customer, a ``r_<i>`` column per milestone). The DAG
(``models.py``), the loader's reserved names, ``show`` and the tests read this registry; a new
table is a new module here plus one entry below.
"""

from __future__ import annotations

from . import (cohort_funnel, customer_progress, funnel, milestone_status, segment_funnel, segment_members,
               success_gaps, trends, win_back)
from .table import BuiltJourney, OutputTable

# In build order where one reads another (``OutputTable.reads``); SPEC §3, then SPEC §4.
OUTPUT_TABLES: tuple[OutputTable, ...] = (
    milestone_status.TABLE, customer_progress.TABLE, funnel.TABLE,
    segment_members.TABLE, segment_funnel.TABLE, success_gaps.TABLE, win_back.TABLE, cohort_funnel.TABLE,
    trends.KPI_TREND, trends.PERIOD_KPIS,
)
OUTPUTS_BY_NAME = {table.name: table for table in OUTPUT_TABLES}
OUTPUT_NAMES = tuple(OUTPUTS_BY_NAME)

__all__ = ["BuiltJourney", "OUTPUTS_BY_NAME", "OUTPUT_NAMES", "OUTPUT_TABLES", "OutputTable"]
