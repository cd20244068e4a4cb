"""Check: the built-in and declared data-quality checks, on sources before the journeys and on the
staged outputs before they are published."""

from __future__ import annotations

from ..errors import ChecksFailed
from .publish import abort
from .run import BuildRun


def check(run: BuildRun, checks: list) -> None:
    """Run ``checks`` (SQL where they have a compiled path, GX for the rest); an error-severity
    failure aborts the build (its results are still recorded)."""
    if not checks:
        return
    from ..checks.fast import run_fast_checks, supports

    fast = [c for c in checks if supports(c)]
    results = run_fast_checks(run.engine, fast, run.checked)
    declared = [c for c in checks if not supports(c)]  # (checks.fast.DECLARED lists those with one)
    if declared:  # great-expectations is imported only for checks without a compiled form
        from ..checks.gx import run_checks

        results += run_checks(run.engine, declared, run.checked)
    from ..checks.derive import explain_missing_events
    from ..checks.filters_match import explain_unmatched_filters

    for result in results:
        if result.check.name.endswith(".event_names_occur") and result.status == "fail":
            explain_missing_events(run.ctx.project, result, run.engine, run.physical)
        if result.check.name.endswith(".filters_match") and result.status == "fail" and not result.check.declared:
            explain_unmatched_filters(run.ctx.project, result, run.engine, run.physical, run.ctx.as_of)
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
