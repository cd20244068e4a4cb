"""Run a project: compile it, materialize the DAG on an engine, publish, and record what happened.

Every model is built into a staged twin (``__clg_next__<name>``) that reads the staged versions
of its upstream models; only when all of them succeeded are the staged tables renamed over the
published ones, in one transaction. A failing or interrupted build therefore leaves the last good
outputs as they were. ``target/run_results.json`` and ``target/manifest.json`` follow dbt's idea:
what ran, how long, how many rows; what the models are and what they read.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from . import __version__
from .engines import Engine, connect
from .errors import BuildError, ClgError
from .loader import Project, load_project
from .models import OUTPUTS, Dag, Model, build_dag, progress_model_name
from .profiles import find_profiles, load_target

STAGED_PREFIX = "__clg_next__"


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
class ModelResult:
    name: str
    kind: str
    status: str  # success | error | skipped
    seconds: float = 0.0
    rows: int | None = None
    message: str | None = None


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
    return parsed


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
    dialect = engine.dialect if engine else "duckdb"
    return build_dag(ctx.project, ctx.as_of, dialect, engine.columns if engine else None,
                     journeys=ctx.selected_journeys(), extra_output_journeys=sorted(existing or ()))


def write_compiled(ctx: Context, dag: Dag, dialect: str = "duckdb") -> Path:
    """target/compiled/<kind>/<name>.sql for every model, and target/manifest.json."""
    out = ctx.target_dir / "compiled"
    for model in dag.ordered():
        if model.query is None:
            continue
        path = out / model.kind / f"{model.name}.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(model.sql(dialect) + ";\n")
    write_manifest(ctx, dag, dialect)
    return out


def write_manifest(ctx: Context, dag: Dag, dialect: str) -> None:
    manifest = {
        "metadata": {"clg_metrics_version": __version__, "generated_at": _now(), "project": ctx.project.name,
                     "as_of": ctx.as_of.isoformat(sep=" "), "dialect": dialect},
        "models": {m.name: {"kind": m.kind, "depends_on": list(m.depends_on),
                            "path": str(m.path) if m.path else None, "journey": m.journey,
                            "checksum": m.checksum, "columns": m.columns,
                            "compiled_sql": m.sql(dialect) if m.query is not None else None}
                   for m in dag.ordered()},
    }
    _write_json(ctx.target_dir / "manifest.json", manifest)


def build(ctx: Context, seeds_only: bool = False,
          on_result: Callable[[ModelResult], None] | None = None) -> list[ModelResult]:
    """Materialize the DAG (or only the seeds) and publish it atomically; raise BuildError on failure."""
    engine = connect(ctx.target, ctx.project.root)
    results: list[ModelResult] = []
    started = time.perf_counter()
    try:
        engine.drop([t for t in engine.tables() if t.startswith(STAGED_PREFIX)])  # leftovers of a killed build
        existing = _reusable_progress_tables(ctx, engine)
        dag = compile_dag(ctx, engine, existing)
        models = [m for m in dag.ordered() if m.kind == "seed"] if seeds_only else _selected(ctx, dag)
        built: set[str] = set()

        def staged_name(name: str) -> str | None:
            return STAGED_PREFIX + name if name in built else None

        failed: ModelResult | None = None
        for model in models:
            if failed is not None:
                result = ModelResult(model.name, model.kind, "skipped", message=f"skipped: {failed.name} failed")
            else:
                result = _run_model(engine, model, staged_name)
                if result.status == "error":
                    failed = result
                else:
                    built.add(model.name)
            results.append(result)
            if on_result:
                on_result(result)
        if failed is not None:
            engine.drop([STAGED_PREFIX + n for n in built])
            raise BuildError(f"model `{failed.name}` failed, nothing was published: {failed.message}")
        engine.publish([(STAGED_PREFIX + m.name, m.name) for m in models if m.name in built])
        write_compiled(ctx, dag, engine.dialect)
    finally:
        _write_run_results(ctx, results, time.perf_counter() - started)
        engine.close()
    return results


def _selected(ctx: Context, dag: Dag) -> list[Model]:
    selected = ctx.selected_journeys()
    if selected is None:
        return dag.ordered()
    wanted = dag.upstream({progress_model_name(j) for j in selected} | set(OUTPUTS))
    return [m for m in dag.ordered() if m.name in wanted]


def _reusable_progress_tables(ctx: Context, engine: Engine) -> set[str]:
    """Journeys not selected whose published progress table still fits their definition."""
    selected = ctx.selected_journeys()
    if selected is None:
        return set()
    keep = set()
    for loaded in ctx.project.journeys:
        if loaded.name in selected:
            continue
        columns = engine.columns(progress_model_name(loaded.name))
        count = len(loaded.journey.milestones)
        expected = {"customer_id", "signed_up_at"} | {f"r_{i}" for i in range(1, count + 1)}
        if columns and set(columns) >= expected and f"r_{count + 1}" not in columns:
            keep.add(loaded.name)
    return keep


def _run_model(engine: Engine, model: Model, staged_name: Callable[[str], str | None]) -> ModelResult:
    started = time.perf_counter()
    target = STAGED_PREFIX + model.name
    try:
        if model.kind == "seed":
            rows = engine.load_csv(target, model.path)
        else:
            rows = engine.create_table_as(target, model.sql(engine.dialect, rename=staged_name, pretty=False))
    except ClgError:
        raise
    except Exception as exc:  # the engine's own error, e.g. a sql/ model referring to a missing column
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = f" ({model.path})" if model.path else ""
        return ModelResult(model.name, model.kind, "error", time.perf_counter() - started,
                           message=f"{message}{where}")
    return ModelResult(model.name, model.kind, "success", time.perf_counter() - started, rows)


def _write_run_results(ctx: Context, results: list[ModelResult], elapsed: float) -> None:
    payload = {
        "metadata": {"clg_metrics_version": __version__, "generated_at": _now(),
                     "as_of": ctx.as_of.isoformat(sep=" "), "target": ctx.target_name},
        "elapsed_time": round(elapsed, 3),
        "results": [asdict(r) | {"seconds": round(r.seconds, 3)} for r in results],
    }
    _write_json(ctx.target_dir / "run_results.json", payload)


def _write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    tmp.replace(path)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def show(ctx: Context, table: str, limit: int) -> tuple[list[str], list[tuple]]:
    """The first rows of a published table (outputs sorted in their natural order)."""
    engine = connect(ctx.target, ctx.project.root, read_only=True)
    try:
        tables = engine.tables()
        if table not in tables:
            from .errors import did_you_mean, one_of

            visible = [t for t in tables if not t.startswith(STAGED_PREFIX)]
            hint = did_you_mean(table, visible) or (one_of(visible) if visible else "run `clg-metrics build` first")
            raise ClgError(f"no table `{table}` in {ctx.target_name} ({hint})")
        from sqlglot import exp

        order = {"funnel": ["journey", "milestone_index"], "milestone_status": ["journey", "customer_id", "milestone_index"],
                 "customer_progress": ["journey", "customer_id"]}.get(table, [])
        query = exp.select("*").from_(exp.table_(table, db=engine.schema, quoted=True)).limit(limit)
        if order:
            query = query.order_by(*order)
        return engine.fetch(query.sql(engine.dialect))
    finally:
        engine.close()
