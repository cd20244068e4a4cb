"""What one command works on: the validated project, the build's ``as_of``, and the target.

Loaded once per command (``load_context``) and handed to every phase; ``compile_dag`` turns it
into the ordered DAG of models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ClgError
from .loader import Project, load_project
from .models import Dag, build_dag
from .profiles import find_profiles, load_target

if TYPE_CHECKING:
    from .engines import Engine


@dataclass
class Settings:
    """What a command was asked to do (the CLI's flags)."""

    project_dir: Path = Path(".")
    profiles_dir: Path | None = None
    target: str | None = None
    select: tuple[str, ...] = ()
    as_of: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    settings: Settings
    project: Project
    as_of: datetime
    target_name: str
    target: Any

    @property
    def target_dir(self) -> Path:
        return self.project.paths["target"]

    def selected_journeys(self) -> list[str] | None:
        if not self.settings.select:
            return None
        names = [j.name for j in self.project.journeys]
        unknown = [s for s in self.settings.select if s not in names]
        if unknown:
            from .errors import did_you_mean, one_of

            hint = did_you_mean(unknown[0], names) or one_of(names)
            raise ClgError(f"--select: no journey `{unknown[0]}` ({hint})")
        return list(self.settings.select)


def parse_as_of(value: Any, origin: str) -> datetime:
    """An ISO date or timestamp as a naive UTC datetime (an offset is converted to UTC)."""
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ClgError(f"{origin}: `{value}` is not an ISO date or timestamp "
                           "(e.g. 2025-01-01 or 2025-01-01T00:00:00Z)") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    if not AS_OF_RANGE[0] <= parsed <= AS_OF_RANGE[1]:  # every engine's timestamps, with room for `within`
        raise ClgError(f"{origin}: `{value}` is outside {AS_OF_RANGE[0]:%Y-%m-%d} .. {AS_OF_RANGE[1]:%Y-%m-%d}, "
                       "the range every engine's timestamps and day arithmetic cover")
    return parsed


AS_OF_RANGE = (datetime(1900, 1, 1), datetime(2999, 12, 31, 23, 59, 59))


def load_context(settings: Settings, need_target: bool = True) -> Context:
    """Load and validate the project and pick the build's as_of and target."""
    project = load_project(settings.project_dir, settings.vars)
    if settings.as_of is not None:
        as_of = parse_as_of(settings.as_of, "--as-of")
    elif "as_of" in project.variables and project.variables["as_of"] not in (None, ""):
        as_of = parse_as_of(project.variables["as_of"], "vars.as_of")
    else:
        as_of = datetime.now(timezone.utc).replace(tzinfo=None)
    target_name, target = None, None
    if need_target:
        profiles = find_profiles(project.root, settings.profiles_dir)
        target_name, target = load_target(profiles, project.config.profile, settings.target)
    return Context(settings, project, as_of, target_name, target)


def compile_dag(ctx: Context, engine: Engine | None = None, existing: set[str] | None = None) -> Dag:
    """The DAG for this context; with an engine, warehouse tables' columns are looked up."""
    return build_dag(ctx.project, ctx.as_of, engine.columns if engine else None,
                     journeys=ctx.selected_journeys(), extra_output_journeys=sorted(existing or ()))


def target_dialect(target) -> str:
    """The SQL dialect of a profile target's engine (DuckDB when there is none)."""
    from .engines.registry import ENGINES

    return ENGINES[target.type].dialect if target else "duckdb"
