"""Check: the built-in and declared data-quality checks, on sources before the journeys and on the
staged outputs before they are published."""

from __future__ import annotations

from ..errors import ChecksFailed
from .publish import abort
from .run import BuildRun


def check(run: BuildRun, checks: list, keep_state: bool = False, full_refresh: bool = False) -> None:
    """Run ``checks`` (SQL where they have a compiled path, GX for the rest); an error-severity
    failure aborts the build (its results are still recorded). With ``keep_state`` (a build's
    source checks) the checks on the journeys' events read only the events after the stored
    cutoff where that is exact (``checks/stateful.py``), and store their state for the next build."""
    if not checks:
        return
    from ..checks.fast import run_fast_checks, supports

    fast = [c for c in checks if supports(c)]
    results = []
    if keep_state:
        results, fast = _stateful(run, fast, full_refresh)
    results += run_fast_checks(run.engine, fast, run.checked)
    declared = [c for c in checks if not supports(c)]  # (checks.fast.DECLARED lists those with one)
    if declared:  # great-expectations is imported only for checks without a compiled form
        from ..checks.gx import run_checks

        results += run_checks(run.engine, declared, run.checked)
    from ..checks.derive import explain_missing_events
    from ..checks.filters_match import explain_unmatched_filters

    new_rows = run.check_state.new_rows if keep_state and run.check_state else {}  # hints: the new events only
    for result in results:
        rows = new_rows.get(result.check.relation)
        if result.check.name.endswith(".event_names_occur") and result.status == "fail":
            explain_missing_events(run.ctx.project, result, run.engine, run.physical, rows)
        if result.check.name.endswith(".filters_match") and result.status == "fail" and not result.check.declared:
            explain_unmatched_filters(run.ctx.project, result, run.engine, run.physical, run.ctx.as_of, rows)
    order = {id(c): i for i, c in enumerate(checks)}
    results.sort(key=lambda r: order[id(r.check)])
    run.report.checks.extend(results)
    if run.on_checks:
        run.on_checks(results)
    # --warn-error: a warning fails the build too (dbt's flag)
    failed = [r for r in results if (r.check.severity == "error" or run.warn_error) and r.status != "pass"]
    if failed:
        abort(run)
        first = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise ChecksFailed(f"check `{first.check.name}` on `{first.check.relation}` {first.status}ed"
                           f"{more}: {first.unexpected_count if first.unexpected_count is not None else '?'} "
                           f"unexpected, sample {first.sample}; nothing was published")


def _stateful(run: BuildRun, checks: list, full_refresh: bool) -> tuple[list, list]:
    """The events checks from their state (incremental when exact); the rest for the plain path.
    The fingerprints they compute (at the journeys' cutoffs too) serve the plan after them."""
    from datetime import timedelta

    from ..checks.stateful import run_event_checks
    from ..incremental import cutoff_for
    from .plan import previous_states

    ctx = run.ctx
    config = ctx.project.config.incremental
    cutoff = cutoff_for(ctx.as_of, timedelta(hours=config.lookback_hours))
    states = previous_states(run.engine)
    journey_cutoffs = {j.name: [cutoff] + ([states[j.name].cutoff] if j.name in states else [])
                       for j in ctx.project.journeys}
    return run_event_checks(run, checks, journey_cutoffs, cutoff, config.enabled and not full_refresh)
