"""Publish: replace the published tables by the staged twins in one engine transaction, with the
build's clg_state, clg_output_state, dq_results and clg_builds rows, and apply the output deltas
(``phases/deltas.py``: DELETE the replaced rows, INSERT the new ones) in the same transaction; or,
on a failure, drop what was staged (``abort``). Then the engine serves what readers read
(``Engine.serve``: on DuckDB, a serving file swapped in whole, made from a copy of the previous
one with the same changes applied; elsewhere the schema itself, which the transaction updated).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlglot import exp

from ..builds import BUILDS_TABLE, builds_query
from ..checks.results import DQ_TABLE, dq_rows_query
from ..checks.state import stage_check_state
from ..compiler.outputs import OUTPUT_NAMES
from ..deltas import OUTPUT_STATE_TABLE, output_state_query
from ..engines.base import Served
from ..incremental import STATE_TABLE, state_query
from .run import STAGED_PREFIX, BuildRun


def _stage_dq_results(run: BuildRun) -> bool:
    """Stage dq_results: the previous rows plus this run's; False when there is nothing to change
    (no checks ran and the table already exists)."""
    exists = DQ_TABLE in run.engine.tables()
    if exists and not run.report.checks:
        return False
    previous = f"{run.engine.schema}.{DQ_TABLE}" if exists else None
    checked_at = datetime.now(timezone.utc).replace(tzinfo=None)
    query = dq_rows_query(run.run_id, checked_at, run.report.checks, previous)
    run.engine.create_table_as(STAGED_PREFIX + DQ_TABLE, query)
    return True


def abort(run: BuildRun) -> None:
    """Drop what this run staged, but still record its check results (and the failed build)."""
    run.engine.drop(run.staged())
    run.built, run.scratch, run.deltas, run.check_state = [], [], {}, None
    if run.report.checks:
        publish(run, include_models=False, status="failed")


def _stage_builds(run: BuildRun, status: str) -> None:
    exists = BUILDS_TABLE in run.engine.tables()
    previous = f"{run.engine.schema}.{BUILDS_TABLE}" if exists else None
    finished_at = datetime.now(timezone.utc).replace(tzinfo=None)
    query = builds_query(run.run_id, run.command, status, run.ctx.as_of.replace(tzinfo=None), run.started_at,
                         finished_at, previous)
    run.engine.create_table_as(STAGED_PREFIX + BUILDS_TABLE, query)


def _stage_state(run: BuildRun) -> None:
    previous = f"{run.engine.schema}.{STATE_TABLE}" if STATE_TABLE in run.engine.tables() else None
    built_at = datetime.now(timezone.utc).replace(tzinfo=None)
    query = state_query(run.states, built_at, previous)
    run.engine.create_table_as(STAGED_PREFIX + STATE_TABLE, query)


def _stage_output_state(run: BuildRun) -> None:
    exists = OUTPUT_STATE_TABLE in run.engine.tables()
    previous = f"{run.engine.schema}.{OUTPUT_STATE_TABLE}" if exists else None
    query = output_state_query(run.output_states, run.outputs_built, previous)
    run.engine.create_table_as(STAGED_PREFIX + OUTPUT_STATE_TABLE, query)


def _current_build(run: BuildRun) -> str | None:
    """The build id of the last publish (what the serving file should hold before this one)."""
    if BUILDS_TABLE not in run.engine.tables():
        return None
    _, rows = run.engine.fetch(exp.select(exp.Max(this=exp.column("build_id", quoted=True)))
                               .from_(run.engine.table(BUILDS_TABLE)))
    return rows[0][0]


def served_tables(run: BuildRun) -> list[str]:
    """What BI reads: every output the registry lists (whatever it lists), dq_results and clg_builds,
    as far as they exist after this publish."""
    tables = set(run.engine.tables())
    return [n for n in dict.fromkeys(OUTPUT_NAMES + (DQ_TABLE, BUILDS_TABLE)) if n in tables]


def publish(run: BuildRun, include_models: bool, status: str = "success") -> None:
    """Publish in one engine transaction: the staged models (with include_models) and output
    deltas, clg_state, clg_output_state, clg_check_state, dq_results (the previous rows plus this run's checks) and
    clg_builds (this run's row); then serve the outputs to readers."""
    with run.timed("publish"):
        published = lambda name: f"{run.engine.schema}.{name}" if "." not in name else name  # noqa: E731
        views = [(STAGED_PREFIX + n, n, run.models[n].tree(rename=published))
                 for n in run.built if run.models[n].materialized == "view"] if include_models else []
        renames = [(STAGED_PREFIX + n, n) for n in run.built
                   if run.models[n].materialized != "view" and n not in run.deltas] if include_models else []
        deltas = list(run.deltas.values()) if include_models else []
        if include_models and run.states:
            _stage_state(run)
            renames.append((STAGED_PREFIX + STATE_TABLE, STATE_TABLE))
        if include_models and run.check_state is not None:
            renames += stage_check_state(run, STAGED_PREFIX)
        if include_models and run.outputs_built:
            _stage_output_state(run)
            renames.append((STAGED_PREFIX + OUTPUT_STATE_TABLE, OUTPUT_STATE_TABLE))
        if _stage_dq_results(run):
            renames.append((STAGED_PREFIX + DQ_TABLE, DQ_TABLE))
        _stage_builds(run, status)
        renames.append((STAGED_PREFIX + BUILDS_TABLE, BUILDS_TABLE))
        previous_build = _current_build(run)
        run.engine.publish(renames, views, source_dialect=run.ctx.project.config.sql_dialect, deltas=deltas)
    changed = {final for _, final in renames} | {final for _, final, _ in views}
    try:
        with run.timed("serve"):
            run.engine.serve(served_tables(run), run.run_id, Served(previous_build, changed, deltas))
        run.report.serving = getattr(run.engine, "served_by", None)
    finally:
        run.engine.drop(run.scratch)  # the deltas' rows, kept for the serving file until now
        run.scratch, run.deltas = [], {}
