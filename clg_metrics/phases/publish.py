"""Publish: replace the published tables by the staged twins in one engine transaction, with the
build's clg_state and dq_results rows; or, on a failure, drop what was staged (``abort``)."""

from __future__ import annotations

from datetime import datetime, timezone

from ..checks.results import DQ_TABLE, dq_rows_query
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
    """Drop what this run staged, but still record its check results."""
    run.engine.drop([STAGED_PREFIX + n for n in run.built])
    run.built = []
    if run.report.checks:
        publish(run, include_models=False)

def _stage_state(run: BuildRun) -> None:
    previous = f"{run.engine.schema}.{STATE_TABLE}" if STATE_TABLE in run.engine.tables() else None
    built_at = datetime.now(timezone.utc).replace(tzinfo=None)
    query = state_query(run.states, built_at, previous)
    run.engine.create_table_as(STAGED_PREFIX + STATE_TABLE, query)

def publish(run: BuildRun, include_models: bool) -> None:
    """Publish in one engine transaction: the staged models (with include_models), clg_state and
    dq_results (the previous rows plus this run's checks)."""
    published = lambda name: f"{run.engine.schema}.{name}" if "." not in name else name  # noqa: E731
    views = [(STAGED_PREFIX + n, n, run.models[n].tree(rename=published))
             for n in run.built if run.models[n].materialized == "view"] if include_models else []
    renames = [(STAGED_PREFIX + n, n) for n in run.built
               if run.models[n].materialized != "view"] if include_models else []
    if include_models and run.states:
        _stage_state(run)
        renames.append((STAGED_PREFIX + STATE_TABLE, STATE_TABLE))
    if _stage_dq_results(run):
        renames.append((STAGED_PREFIX + DQ_TABLE, DQ_TABLE))
    run.engine.publish(renames, views, source_dialect=run.ctx.project.config.sql_dialect)
