"""What an output table is: its name, columns and types, how it is built, and how ``show`` sorts it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, NamedTuple, Optional

from sqlglot import exp

from ...spec import Journey


class BuiltJourney(NamedTuple):
    """A journey whose progress model is built, with the table that model is read from."""

    journey: Journey
    table: str
    customer_columns: list[str] | None = None  # the customers source's columns, when known
    sql_dialect: str = "duckdb"  # what the journey's filter strings are written in


# The customers (a query of ``customer_id``) of one journey whose rows change although their
# progress row does not: changed(journey built over the new progress, previous as_of, as_of,
# the published table, schema-qualified) -> query, or None when there are none.
Changed = Callable[[BuiltJourney, datetime, datetime, str], Optional[exp.Query]]


@dataclass(frozen=True)
class PerCustomer:
    """A table whose rows belong to one (journey, customer) each and follow from that customer's
    progress row, the build's ``as_of`` and the table's definition: an incremental build replaces
    only some customers' rows (``phases/deltas.py``). Each table says here, in its own module,
    what else moves its rows, so that the build finds every customer whose rows change.

    ``changed``: the customers whose rows change although their progress row does not (a status
    that turns ``missed`` as the deadline passes, a segment's ``in_last`` window).
    ``moves_with_as_of``: a column of (nearly) every row is measured from ``as_of`` (days since
    ...): whenever ``as_of`` moves, every row changes, and the journey's rows are rebuilt whole.
    """

    changed: Changed = lambda built, previous_as_of, as_of, published: None
    moves_with_as_of: bool = False


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
    per_customer: PerCustomer | None = None  # None: an aggregate, rebuilt in full every build

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)
