"""Run a command's phases in order (see ``phases/``): plan, materialize, check, publish, record.

Every model is built into a staged twin (``__clg_next__<name>``) that reads the staged versions
of its upstream models; only when all of them succeeded are the staged tables renamed over the
published ones, in one transaction. A failing or interrupted build therefore leaves the last good
outputs as they were. ``target/run_results.json`` and ``target/manifest.json`` follow dbt's idea:
what ran, how long, how many rows; what the models are and what they read.
"""

from __future__ import annotations

import contextlib
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from .checks.derive import output_checks, source_checks
from .context import Context, Settings, compile_dag, load_context, parse_as_of, target_dialect  # noqa: F401
from .diagnose import describe
from .engines import connect
from .errors import BuildError, ClgError, Problem, SpecError
from .models import Model
from .phases.check import check
from .phases.id_types import check_id_types
from .phases.deltas import plan_outputs
from .phases.materialize import materialize
from .phases.plan import plan_journeys, reusable_progress_tables, selected_models
from .phases.publish import publish
from .phases.record import write_compiled, write_manifest, write_run_results  # noqa: F401
from .phases.run import DELTA_PREFIX, STAGED_PREFIX, BuildReport, BuildRun, ModelResult  # noqa: F401
from .show import show  # noqa: F401


def build(ctx: Context, seeds_only: bool = False, run_checks: bool = True, full_refresh: bool = False,
          on_result: Callable[[ModelResult], None] | None = None,
          on_checks: Callable[[list], None] | None = None,
          on_start: Callable[[Model], None] | None = None, warn_error: bool = False) -> BuildReport:
    """Materialize the DAG (or only the seeds), check it, and publish it atomically.

    Order: seeds and sql/ models; source checks; journeys and outputs; output checks; publish.
    An error-severity check failure or a failing model raises (exit 1) before anything is
    published; the check results still land in dq_results.
    """
    started = time.perf_counter()
    run: BuildRun | None = None
    try:
        engine = connect(ctx.target, ctx.project.root)
        run = BuildRun(ctx, engine, on_result=on_result, on_checks=on_checks, on_start=on_start,
                       warn_error=warn_error)
        with recorded(run, started, "seed" if seeds_only else "build"):
            engine.lock_build()
            # leftovers of a killed build
            engine.drop([t for t in engine.tables() if t.startswith((STAGED_PREFIX, DELTA_PREFIX))])
            with run.timed("compile"):
                dag = compile_dag(ctx, engine, reusable_progress_tables(ctx, engine))
            models = [m for m in dag.ordered() if m.kind == "seed"] if seeds_only else selected_models(ctx, dag)
            check_warehouse_tables(ctx, engine, models)
            after = dag.after_outputs()  # sql/ models over the outputs: built with them, not before
            later = [m for m in models if m.kind in ("leaves", "journey", "output") or m.name in after]
            materialize(run, [m for m in models if m not in later], later=later)
            if not seeds_only:
                check_id_types(run)  # the sources' id types are known now, before any journey runs
                if run_checks:
                    check(run, source_checks(ctx.project, ctx.as_of, ctx.selected_journeys(), run.columns),
                          keep_state=True, full_refresh=full_refresh)
                with run.timed("plan"):
                    plan_journeys(run, dag, later, full_refresh)
                    plan_outputs(run, dag, later, full_refresh)
                materialize(run, later)
                if run_checks:
                    check(run, output_checks(ctx.project, ctx.selected_journeys()))
            publish(run, include_models=True)
            with run.timed("record"):
                write_compiled(ctx, dag, engine.dialect)
    except BaseException as exc:
        if run is None:  # the warehouse refused the connection: recorded too
            _record(ctx, None, started, exc, "seed" if seeds_only else "build")
        raise
    return run.report


def test(ctx: Context, on_checks: Callable[[list], None] | None = None) -> BuildReport:
    """Run the checks alone on the published tables, and append their results to dq_results."""
    started = time.perf_counter()
    run: BuildRun | None = None
    try:
        engine = connect(ctx.target, ctx.project.root)
        run = BuildRun(ctx, engine, on_checks=on_checks, command="test")
        with recorded(run, started, "test"):
            engine.lock_build()
            checks = source_checks(ctx.project, ctx.as_of, ctx.selected_journeys(), run.columns)
            checks += output_checks(ctx.project, ctx.selected_journeys())
            check(run, checks)
            publish(run, include_models=False)
    except BaseException as exc:
        if run is None:
            _record(ctx, None, started, exc, "test")
        raise
    return run.report


@contextmanager
def recorded(run: BuildRun, started: float, command: str) -> Iterator[None]:
    """Run a command's phases; whatever the outcome, drop what is staged on a failure, write
    run_results.json, close the engine, and turn an engine error escaping the phases (a query
    outside a model: planning, checks, publishing) into one line, never a traceback."""
    error: BaseException | None = None
    try:
        yield
    except ClgError as exc:
        error = exc
        raise
    except run.engine.ERRORS as exc:
        error = BuildError(f"the build stopped, nothing was published: {describe(exc, run.ctx.project)}")
        raise error from None
    except BaseException as exc:  # interrupted, or a bug: recorded as such, then passed on
        error = exc
        raise
    finally:
        if error is not None and run.staged():
            with contextlib.suppress(Exception):
                run.engine.drop(run.staged())
        with contextlib.suppress(Exception):
            run.engine.close()
        if error is not None:
            error.recorded = True  # the CLI does not record it again
        _record(run.ctx, run.report, started, error, command)


def _record(ctx: Context, report: BuildReport | None, started: float, error: BaseException | None,
            command: str) -> None:
    """Write run_results.json; when the run already failed, a failure to write it must not hide why."""
    try:
        write_run_results(ctx, report, time.perf_counter() - started, error, command)
    except ClgError:
        if error is None:
            raise
    if error is not None:
        with contextlib.suppress(AttributeError):
            error.recorded = True


def check_warehouse_tables(ctx: Context, engine, models: list[Model]) -> None:
    """Every schema.table a model or journey reads exists in the warehouse, before anything runs."""
    problems = []
    for model in models:
        if model.kind == "sql":
            reads = [r for r in ctx.project.sql_models[model.name].reads if "." in r]
            for read in reads:
                if engine.columns(read) is None:
                    problems.append(Problem(model.path, None, None, f"model `{model.name}` reads warehouse table "
                                            f"`{read}`, which does not exist in {engine.target.type}",
                                            "create it, or fix the schema or table name"))
        elif model.kind == "journey":
            loaded = ctx.project.journey(model.journey)
            for key in ("events", "customers"):
                source = getattr(loaded.journey, key)
                if source is not None and "." in source.from_ and engine.columns(source.from_) is None:
                    line, column = loaded.source.locate((key, "from"))
                    problems.append(Problem(loaded.source.path, line, column, f"{key} source `{source.from_}` "
                                            f"does not exist in the warehouse", "fix the schema or table name"))
    if problems:
        raise SpecError(problems)
