"""Journeys to SQL: pure functions from spec models to dialect-free sqlglot expressions.

``journey.py`` builds each journey's per-customer progress query, ``outputs/`` the output tables
over those (one module per table, listed in ``OUTPUT_TABLES``), ``events.py`` the staging of the
events source and ``sqlfns.py`` the small builders they share. Nothing here opens a connection
or picks a dialect.
"""

from .events import EventSource, relation_table
from .journey import JourneyCompiler
from .outputs import OUTPUT_NAMES, OUTPUT_TABLES, OUTPUTS_BY_NAME, OutputTable

__all__ = ["EventSource", "JourneyCompiler", "OUTPUTS_BY_NAME", "OUTPUT_NAMES", "OUTPUT_TABLES", "OutputTable",
           "relation_table"]
