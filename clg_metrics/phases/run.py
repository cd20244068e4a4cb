"""The state one build's phases share: the engine, what is staged so far, and the results."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ..compiler.outputs import BuiltJourney
    from ..context import Context
    from ..deltas import OutputState, TableDelta
    from ..engines import Engine
    from ..checks.state import CheckStateUpdate
    from ..incremental import JourneyState
    from ..models import Model
    from .deltas import DeltaPlan

STAGED_PREFIX = "__clg_next__"
DELTA_PREFIX = "__clg_delta__"  # the staged tables behind an output delta (phases/deltas.py)


@dataclass
class ModelResult:
    name: str
    kind: str
    status: str  # success | error | skipped
    seconds: float = 0.0
    rows: int | None = None
    message: str | None = None


@dataclass
class BuildReport:
    models: list[ModelResult] = field(default_factory=list)
    checks: list = field(default_factory=list)  # checks.gx.CheckResult
    phases: dict[str, float] = field(default_factory=dict)  # seconds of what is not a model (plan, publish ...)
    serving: str | None = None  # DuckDB: how the serving file was made (copy | full)


@dataclass
class BuildRun:
    """One build (or test run) in progress."""

    ctx: Context
    engine: Engine
    report: BuildReport = field(default_factory=BuildReport)
    on_result: Callable[[ModelResult], None] | None = None
    on_checks: Callable[[list], None] | None = None
    on_start: Callable[[Model], None] | None = None
    warn_error: bool = False  # --warn-error: a failing warn-severity check stops the build
    built: list[str] = field(default_factory=list)  # staged so far, in build order
    models: dict[str, Model] = field(default_factory=dict)
    states: list[JourneyState] = field(default_factory=list)  # clg_state rows to publish
    # output deltas (phases/deltas.py): the plan, the journeys' outputs cover, clg_output_state
    # rows to publish (and of which outputs), touched customers per journey, the staged deltas
    delta_plans: dict[str, DeltaPlan] = field(default_factory=dict)
    covered: list[BuiltJourney] = field(default_factory=list)
    output_states: list[OutputState] = field(default_factory=list)
    outputs_built: list[str] = field(default_factory=list)
    touched: dict[str, int] | None = None  # journey -> touched customers, once staged
    deltas: dict[str, TableDelta] = field(default_factory=dict)
    scratch: list[str] = field(default_factory=list)  # staged tables that are not a model's twin
    fingerprints: dict = field(default_factory=dict)  # incremental.fingerprint_key -> (count, hash), once per build
    check_state: CheckStateUpdate | None = None  # clg_check_state rows and tables to publish (checks/state.py)
    command: str = "build"  # build | test: what clg_builds records
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc).replace(tzinfo=None))
    run_id: str = ""  # the build id of clg_builds and dq_results: the start time, to the microsecond

    def __post_init__(self) -> None:
        self.run_id = self.run_id or self.started_at.strftime("%Y%m%dT%H%M%S%fZ")

    def physical(self, relation: str) -> str:
        """The table a relation is read from now: its staged twin if this run built it.

        Always schema-qualified: Spark resolves unqualified names in its current database, and a
        stored view in the database it was created from, neither of which is ours.
        """
        if relation in self.built:
            return f"{self.engine.schema}.{STAGED_PREFIX}{relation}"
        if "." in relation:
            return relation
        return f"{self.engine.schema}.{relation}"

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        """Add the time the block takes to ``report.phases[phase]`` (run_results.json)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.report.phases[phase] = self.report.phases.get(phase, 0.0) + time.perf_counter() - started

    def checked(self, relation: str) -> str:
        """What a check of ``relation`` reads: for an output staged as a delta only its new rows
        (the output checks are invariants per customer, and the published rows passed them)."""
        delta = self.deltas.get(relation)
        return f"{self.engine.schema}.{delta.rows.name}" if delta is not None else self.physical(relation)

    def staged(self) -> list[str]:
        """Everything this run staged, to drop on a failure."""
        from ..checks.state import staged_tables

        return [STAGED_PREFIX + n for n in self.built] + self.scratch + staged_tables(self, STAGED_PREFIX)

    def columns(self, relation: str) -> list[str] | None:
        return self.engine.columns(self.physical(relation))
