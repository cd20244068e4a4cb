"""Journeys to SQL: pure functions from spec models to dialect-free sqlglot expressions.

``journey.py`` builds each journey's per-customer progress query, ``outputs.py`` the SPEC §3
tables over those, ``events.py`` the staging of the events source and ``sqlfns.py`` the small
builders they share. Nothing here opens a connection or picks a dialect.
"""

from .events import EventSource, relation_table
from .journey import JourneyCompiler
from .outputs import customer_progress, funnel, milestone_status

__all__ = ["EventSource", "JourneyCompiler", "customer_progress", "funnel", "milestone_status", "relation_table"]
