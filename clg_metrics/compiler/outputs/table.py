"""What an output table is: its name, columns and types, how it is built, and how ``show`` sorts it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, NamedTuple

from sqlglot import exp

from ...spec import Journey


class BuiltJourney(NamedTuple):
    """A journey whose progress model is built, with the table that model is read from."""

    journey: Journey
    table: str
    customer_columns: list[str] | None = None  # the customers source's columns, when known
    sql_dialect: str = "duckdb"  # what the journey's filter strings are written in


@dataclass(frozen=True)
class OutputTable:
    """One table of the SPEC's output set (one set for all journeys)."""

    name: str
    columns: tuple[tuple[str, exp.DataType.Type], ...]
    build: Callable[[list[BuiltJourney], datetime], exp.Query]  # over the journeys' progress tables
    order_by: tuple[str, ...]  # the natural order for `show` and tests
    reads: tuple[str, ...] = ()  # other output tables it is built from (they come first in the DAG)
    # project relations a journey makes it read besides the progress table (e.g. the survey source)
    journey_reads: Callable[[Journey], tuple[str, ...]] = lambda journey: ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)
