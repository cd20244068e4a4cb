"""Run a command's phases in order (see ``phases/``): plan, materialize, check, publish, record.

Every model is built into a staged twin (``__clg_next__<name>``) that reads the staged versions
of its upstream models; only when all of them succeeded are the staged tables renamed over the
published ones, in one transaction. A failing or interrupted build therefore leaves the last good
outputs as they were. ``target/run_results.json`` and ``target/manifest.json`` follow dbt's idea:
what ran, how long, how many rows; what the models are and what they read.
"""

from __future__ import annotations

import time
from typing import Callable

from .checks.derive import output_checks, source_checks
from .context import Context, Settings, compile_dag, load_context, parse_as_of, target_dialect  # noqa: F401
from .engines import connect
from .models import Model
from .phases.check import check
from .phases.materialize import materialize
from .phases.plan import plan_journeys, reusable_progress_tables, selected_models
from .phases.publish import publish
from .phases.record import write_compiled, write_manifest, write_run_results  # noqa: F401
from .phases.run import STAGED_PREFIX, BuildReport, BuildRun, ModelResult  # noqa: F401
from .show import show  # noqa: F401


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
    run = BuildRun(ctx, engine, on_result=on_result, on_checks=on_checks, on_start=on_start)
    started = time.perf_counter()
    try:
        engine.lock_build()
        engine.drop([t for t in engine.tables() if t.startswith(STAGED_PREFIX)])  # leftovers of a killed build
        dag = compile_dag(ctx, engine, reusable_progress_tables(ctx, engine))
        models = [m for m in dag.ordered() if m.kind == "seed"] if seeds_only else selected_models(ctx, dag)
        later = [m for m in models if m.kind in ("journey", "output")]
        materialize(run, [m for m in models if m.kind in ("seed", "sql")], later=later)
        if not seeds_only:
            if run_checks:
                check(run, source_checks(ctx.project, ctx.as_of, ctx.selected_journeys(), run.columns))
            plan_journeys(run, dag, later, full_refresh)
            materialize(run, later)
            if run_checks:
                check(run, output_checks(ctx.project, ctx.selected_journeys()))
        publish(run, include_models=True)
        write_compiled(ctx, dag, engine.dialect)
    finally:
        write_run_results(ctx, run.report, time.perf_counter() - started)
        engine.close()
    return run.report


def test(ctx: Context, on_checks: Callable[[list], None] | None = None) -> BuildReport:
    """Run the checks alone on the published tables, and append their results to dq_results."""
    engine = connect(ctx.target, ctx.project.root)
    run = BuildRun(ctx, engine, on_checks=on_checks, command="test")
    started = time.perf_counter()
    try:
        engine.lock_build()
        checks = source_checks(ctx.project, ctx.as_of, ctx.selected_journeys(), run.columns)
        checks += output_checks(ctx.project, ctx.selected_journeys())
        check(run, checks)
        publish(run, include_models=False)
    finally:
        write_run_results(ctx, run.report, time.perf_counter() - started)
        engine.close()
    return run.report
