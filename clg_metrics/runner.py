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
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from sqlglot import exp

from . import __version__
from .checks.derive import output_checks, source_checks
from .checks.results import DQ_TABLE, dq_rows_query
from .compiler.journey import Incremental
from .dialects import check_dialect
from .engines import Engine, connect
from .errors import BuildError, ChecksFailed, ClgError, CompileError, first_line
from .incremental import (STATE_COLUMNS, STATE_TABLE, JourneyState, cutoff_for, decide, fingerprint_query,
                          state_query)
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
    return build_dag(ctx.project, ctx.as_of, engine.columns if engine else None,
                     journeys=ctx.selected_journeys(), extra_output_journeys=sorted(existing or ()))


def target_dialect(target) -> str:
    """The SQL dialect of a profile target's engine (DuckDB when there is none)."""
    from .engines.registry import ENGINES

    return ENGINES[target.type].dialect if target else "duckdb"


def write_compiled(ctx: Context, dag: Dag, dialect: str = "duckdb") -> Path:
    """target/compiled/<kind>/<name>.sql for every model, and target/manifest.json."""
    dialect = check_dialect(dialect)
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


@dataclass
class BuildReport:
    models: list[ModelResult] = field(default_factory=list)
    checks: list = field(default_factory=list)  # checks.gx.CheckResult


def build(ctx: Context, seeds_only: bool = False, run_checks: bool = True, full_refresh: bool = False,
          on_result: Callable[[ModelResult], None] | None = None,
          on_checks: Callable[[list], None] | None = None,
          on_start: Callable[[Model], None] | None = None) -> BuildReport:
    """Materialize the DAG (or only the seeds), check it, and publish it atomically.

    Order: seeds and sql/ models; source checks; journeys and outputs; output checks; publish.
    An error-severity check failure or a failing model raises (exit 1) before anything is
    published; the check results still land in dq_results.
    """
    engine = connect(ctx.target, ctx.project.root)
    report = BuildReport()
    started = time.perf_counter()
    try:
        engine.lock_build()
        engine.drop([t for t in engine.tables() if t.startswith(STAGED_PREFIX)])  # leftovers of a killed build
        existing = _reusable_progress_tables(ctx, engine)
        dag = compile_dag(ctx, engine, existing)
        models = [m for m in dag.ordered() if m.kind == "seed"] if seeds_only else _selected(ctx, dag)
        run = _Run(ctx, engine, report, on_result, on_checks, on_start)
        later = [m for m in models if m.kind in ("journey", "output")]
        run.materialize([m for m in models if m.kind in ("seed", "sql")], later=later)
        if not seeds_only:
            if run_checks:
                run.check(source_checks(ctx.project, ctx.as_of, ctx.selected_journeys(), run.columns))
            run.plan_journeys(dag, later, full_refresh)
            run.materialize(later)
            if run_checks:
                run.check(output_checks(ctx.project, ctx.selected_journeys()))
        run.publish(include_models=True)
        write_compiled(ctx, dag, engine.dialect)
    finally:
        _write_run_results(ctx, report, time.perf_counter() - started)
        engine.close()
    return report


def test(ctx: Context, on_checks: Callable[[list], None] | None = None) -> BuildReport:
    """Run the checks alone on the published tables, and append their results to dq_results."""
    engine = connect(ctx.target, ctx.project.root)
    report = BuildReport()
    started = time.perf_counter()
    try:
        engine.lock_build()
        run = _Run(ctx, engine, report, None, on_checks)
        checks = source_checks(ctx.project, ctx.as_of, ctx.selected_journeys(), run.columns)
        checks += output_checks(ctx.project, ctx.selected_journeys())
        run.check(checks)
        run.publish(include_models=False)
    finally:
        _write_run_results(ctx, report, time.perf_counter() - started)
        engine.close()
    return report


class _Run:
    """One build's state: what is staged so far, and the check results to record."""

    def __init__(self, ctx, engine, report, on_result, on_checks, on_start=None):
        self.ctx, self.engine, self.report = ctx, engine, report
        self.on_result, self.on_checks, self.on_start = on_result, on_checks, on_start
        self.built: list[str] = []
        self.models: dict[str, Model] = {}
        self.states: list[JourneyState] = []
        self.run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")

    def physical(self, relation: str) -> str:
        """The table a relation is read from now: its staged twin if this run built it."""
        if relation in self.built:
            return f"{self.engine.schema}.{STAGED_PREFIX}{relation}"
        if "." in relation:
            return relation
        return f"{self.engine.schema}.{relation}"

    def columns(self, relation: str) -> list[str] | None:
        return self.engine.columns(self.physical(relation))

    def _previous_states(self) -> dict[str, JourneyState]:
        if STATE_TABLE not in self.engine.tables():
            return {}
        names = [n for n, _ in STATE_COLUMNS][:-1]
        query = exp.select(*[exp.column(n, quoted=True) for n in names]).from_(
            exp.table_(STATE_TABLE, db=self.engine.schema, quoted=True))
        _, rows = self.engine.fetch(query)
        return {r[0]: JourneyState(*r) for r in rows}

    def plan_journeys(self, dag: Dag, models: list[Model], full_refresh: bool) -> None:
        """Decide, per journey, between a full and an incremental build (see incremental.py)."""
        config = self.ctx.project.config.incremental
        previous = self._previous_states()
        cutoff = cutoff_for(self.ctx.as_of, timedelta(hours=config.lookback_hours))
        for index, model in enumerate(models):
            if model.kind != "journey":
                continue
            journey = self.ctx.project.journey(model.journey).journey
            state = previous.get(journey.journey)
            cutoffs = [cutoff] + ([state.cutoff] if state else [])
            query = fingerprint_query(journey, self.physical(journey.events.from_.lower()), cutoffs)
            _, rows = self.engine.fetch(query)
            values = rows[0]
            fresh = (int(values[0]), str(values[1] or "0"))
            old = (int(values[2]), str(values[3] or "0")) if state else None
            columns = self.engine.columns(model.name)
            expected = {"customer_id", "signed_up_at"} | {f"r_{i}" for i in range(1, len(journey.milestones) + 1)}
            has_progress = columns is not None and set(columns) == expected
            checksum = dag.checksum(model.name)
            mode = decide(state, checksum, self.ctx.as_of, old, has_progress, full_refresh or not config.enabled)
            if mode == "incremental":
                previous_table = f"{self.engine.schema}.{model.name}"
                models[index] = dag.recompile(journey.journey, Incremental(previous_table, state.cutoff))
            models[index].mode = mode
            self.states.append(JourneyState(journey.journey, checksum, self.ctx.as_of, cutoff, *fresh,
                                            "incremental" if mode == "incremental" else "full"))

    def materialize(self, models: list[Model], later: list[Model] = ()) -> None:
        """Build ``models`` as staged twins; on a failure report the rest (and ``later``) as skipped."""
        def staged_name(name: str) -> str | None:
            # Always schema-qualified: Spark resolves unqualified names in its current database,
            # and a stored view in the database it was created from, neither of which is ours.
            return self.physical(name)

        failed: ModelResult | None = None
        for model in models:
            self.models[model.name] = model
            if failed is not None:
                result = ModelResult(model.name, model.kind, "skipped", message=f"skipped: {failed.name} failed")
            else:
                if self.on_start:
                    self.on_start(model)
                result = _run_model(self.engine, model, staged_name)
                if model.mode and result.status == "success":
                    result.message = model.mode
                if result.status == "error":
                    failed = result
                else:
                    self.built.append(model.name)
            self.report.models.append(result)
            if self.on_result:
                self.on_result(result)
        if failed is not None:
            for model in later:
                self.report.models.append(ModelResult(model.name, model.kind, "skipped",
                                                      message=f"skipped: {failed.name} failed"))
            self.abort()
            raise BuildError(f"model `{failed.name}` failed, nothing was published: {failed.message}")

    def check(self, checks: list) -> None:
        if not checks:
            return
        from .checks.fast import run_fast_checks, supports

        fast = [c for c in checks if supports(c)]
        results = run_fast_checks(self.engine, fast, self.physical)
        declared = [c for c in checks if not supports(c)]
        if declared:  # great-expectations is imported only when a user declared checks
            from .checks.gx import run_checks

            results += run_checks(self.engine, declared, self.physical)
        order = {id(c): i for i, c in enumerate(checks)}
        results.sort(key=lambda r: order[id(r.check)])
        self.report.checks.extend(results)
        if self.on_checks:
            self.on_checks(results)
        failed = [r for r in results if r.check.severity == "error" and r.status != "pass"]
        if failed:
            self.abort()
            first = failed[0]
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            raise ChecksFailed(f"check `{first.check.name}` on `{first.check.relation}` {first.status}ed"
                               f"{more}: {first.unexpected_count if first.unexpected_count is not None else '?'} "
                               f"unexpected, sample {first.sample}; nothing was published")

    def _stage_dq_results(self) -> bool:
        """Stage dq_results: the previous rows plus this run's; False when there is nothing to change
        (no checks ran and the table already exists)."""
        exists = DQ_TABLE in self.engine.tables()
        if exists and not self.report.checks:
            return False
        previous = f"{self.engine.schema}.{DQ_TABLE}" if exists else None
        checked_at = datetime.now(timezone.utc).replace(tzinfo=None)
        query = dq_rows_query(self.run_id, checked_at, self.report.checks, previous)
        self.engine.create_table_as(STAGED_PREFIX + DQ_TABLE, query)
        return True

    def abort(self) -> None:
        """Drop what this run staged, but still record its check results."""
        self.engine.drop([STAGED_PREFIX + n for n in self.built])
        self.built = []
        if self.report.checks:
            self.publish(include_models=False)

    def _stage_state(self) -> None:
        previous = f"{self.engine.schema}.{STATE_TABLE}" if STATE_TABLE in self.engine.tables() else None
        built_at = datetime.now(timezone.utc).replace(tzinfo=None)
        query = state_query(self.states, built_at, previous)
        self.engine.create_table_as(STAGED_PREFIX + STATE_TABLE, query)

    def publish(self, include_models: bool) -> None:
        published = lambda name: f"{self.engine.schema}.{name}" if "." not in name else name  # noqa: E731
        views = [(STAGED_PREFIX + n, n, self.models[n].tree(rename=published))
                 for n in self.built if self.models[n].materialized == "view"] if include_models else []
        renames = [(STAGED_PREFIX + n, n) for n in self.built
                   if self.models[n].materialized != "view"] if include_models else []
        if include_models and self.states:
            self._stage_state()
            renames.append((STAGED_PREFIX + STATE_TABLE, STATE_TABLE))
        if self._stage_dq_results():
            renames.append((STAGED_PREFIX + DQ_TABLE, DQ_TABLE))
        self.engine.publish(renames, views, source_dialect=self.ctx.project.config.sql_dialect)


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
        elif model.materialized == "view":
            engine.create_view_as(target, model.tree(rename=staged_name), source_dialect=model.source_dialect)
            rows = None
        else:
            rows = engine.create_table_as(target, model.tree(rename=staged_name), source_dialect=model.source_dialect)
    except CompileError as exc:
        raise model.located(exc) from None
    except ClgError:
        raise
    except Exception as exc:  # the engine's own error, e.g. a sql/ model referring to a missing column
        message = first_line(exc)
        where = f" ({model.path})" if model.path else ""
        return ModelResult(model.name, model.kind, "error", time.perf_counter() - started,
                           message=f"{message}{where}")
    return ModelResult(model.name, model.kind, "success", time.perf_counter() - started, rows)


def _write_run_results(ctx: Context, report: BuildReport, elapsed: float) -> None:
    payload = {
        "metadata": {"clg_metrics_version": __version__, "generated_at": _now(),
                     "as_of": ctx.as_of.isoformat(sep=" "), "target": ctx.target_name},
        "elapsed_time": round(elapsed, 3),
        "results": [asdict(r) | {"seconds": round(r.seconds, 3)} for r in report.models],
        "checks": [{"name": r.check.name, "relation": r.check.relation, "column": r.check.column,
                    "expectation": r.check.expectation, "severity": r.check.severity, "status": r.status,
                    "unexpected_count": r.unexpected_count, "sample": r.sample, "seconds": round(r.seconds, 3)}
                   for r in report.checks],
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

        from .compiler import OUTPUTS_BY_NAME

        order = list(OUTPUTS_BY_NAME[table].order_by) if table in OUTPUTS_BY_NAME else []
        query = exp.select("*").from_(exp.table_(table, db=engine.schema, quoted=True)).limit(limit)
        if order:
            query = query.order_by(*order)
        return engine.fetch(query)
    finally:
        engine.close()
