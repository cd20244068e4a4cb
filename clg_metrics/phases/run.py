"""The state one build's phases share: the engine, what is staged so far, and the results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ..context import Context
    from ..engines import Engine
    from ..checks.state import CheckStateUpdate
    from ..incremental import JourneyState
    from ..models import Model

STAGED_PREFIX = "__clg_next__"


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

    def columns(self, relation: str) -> list[str] | None:
        return self.engine.columns(self.physical(relation))
