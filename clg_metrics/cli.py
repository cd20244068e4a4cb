"""The ``clg-metrics`` command line: parse flags, call the library, print.

Heavy modules (duckdb, sqlglot, pydantic) are imported inside the commands so that ``--help``
starts fast. Every user mistake ends in one line per problem and an exit code: 0 ok, 1 a failed
build or check, 2 bad usage or configuration (``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from .console import Reporter, format_table, print_checks, printable  # noqa: F401  (kept importable here)

from .cli_options import (EXIT_FAILED, EXIT_OK, EXIT_USAGE, _settings, handle_errors,  # noqa: F401
                          log_format_option, project_options)


def entrypoint() -> None:
    """The console script: run the CLI; after great-expectations ran, skip interpreter teardown.

    With duckdb 2.0, GX's SQLAlchemy path leaves objects that nanobind reports as ~40 lines of
    "leaked instance" on stderr at teardown; nothing is left to clean up by then (files are
    closed, results written), so the process leaves without it.
    """
    try:
        main()
        code = EXIT_OK
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    if "great_expectations" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clg-metrics")
def main():
    """clg-metrics: Customer-Led Growth milestones as code.

    Declare journeys, milestone KPIs and segments in milestones/*.yml; clg-metrics compiles them
    with sqlglot into SQL and builds milestone status, the funnel, the CLG analysis tables
    (success gaps, win-back, cohorts, KPI trends) and data-quality results.

    \b
    Example:
      clg-metrics init my_project && cd my_project
      clg-metrics build && clg-metrics show funnel
    """


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--blank", is_flag=True, help="A minimal project (one journey, two milestones, a tiny seed) "
                                            "instead of the demo.")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@handle_errors
def init(directory, blank):
    """Create a new project in DIRECTORY that builds at once (the demo project, or --blank).

    Also writes a .gitignore (target/, .venv/, ...) unless the folder has one.

    \b
    Examples:
      clg-metrics init my_project
      clg-metrics init --blank my_project
    """
    from .scaffold import init_project

    written = init_project(directory, blank=blank)
    click.echo(f"Created {len(written)} files in {directory}.")
    click.echo(f"Next: cd {directory} && clg-metrics build && clg-metrics show funnel")


@main.command()
@project_options
@handle_errors
def validate(**kwargs):
    """Check every YAML and SQL file of the project and report every problem at once.

    \b
    Example:
      clg-metrics validate --project-dir my_project
    """
    from .runner import load_context

    ctx = load_context(_settings(kwargs))  # profiles.yml is checked too
    milestones = sum(len(j.journey.milestones) for j in ctx.project.journeys)
    click.echo(f"OK: {len(ctx.project.journeys)} journeys, {milestones} milestones, "
               f"{len(ctx.project.sql_models)} sql models, {len(ctx.project.seeds)} seeds.")


@main.command(name="compile")
@project_options
@click.option("--dialect", default=None,
              help="Render for this sqlglot dialect (snowflake, bigquery, trino, databricks, ...) instead of "
                   "the target's engine.")
@handle_errors
def compile_(dialect, **kwargs):
    """Write the SQL of every model to target/compiled/ (no database needed).

    The SQL is written for the profile target's engine (DuckDB without profiles.yml), for the
    target named by --target, or for any sqlglot dialect given by --dialect. DuckDB, PostgreSQL
    and Spark are tested engines; other dialects are compile-only.

    \b
    Examples:
      clg-metrics compile && cat target/compiled/output/funnel.sql
      clg-metrics compile --dialect snowflake
    """
    from .runner import compile_dag, load_context, target_dialect, write_compiled

    ctx = load_context(_settings(kwargs), need_target=dialect is None)
    dialect = dialect or target_dialect(ctx.target)
    dag = compile_dag(ctx)
    out = write_compiled(ctx, dag, dialect)
    click.echo(f"Compiled {sum(1 for m in dag.ordered() if m.query is not None)} models for {dialect} to {out}")


@main.command()
@project_options
@log_format_option
@handle_errors
def seed(log_format, **kwargs):
    """Load the CSV files of seeds/ as tables.

    \b
    Example:
      clg-metrics seed
    """
    from .runner import build, load_context

    ctx = load_context(_settings(kwargs))
    reporter = Reporter(log_format)
    report = build(ctx, seeds_only=True, on_result=reporter.result, on_start=reporter.start)
    reporter.info(f"Loaded {len(report.models)} seeds.")


@main.command(name="build")
@project_options
@click.option("--skip-checks", is_flag=True, help="Build without running the data-quality checks.")
@click.option("--full-refresh", is_flag=True, help="Recompute every customer (no incremental build).")
@click.option("--warn-error", is_flag=True, help="Fail the build (exit 1, nothing published) on any warning.")
@log_format_option
@handle_errors
def build_(skip_checks, full_refresh, warn_error, log_format, **kwargs):
    """Load seeds, run sql/ models and journeys, and publish the output tables.

    The new tables replace the published ones in one transaction, only when every model built.

    \b
    Example:
      clg-metrics build --as-of 2025-01-01
    """
    from .runner import build, load_context

    ctx = load_context(_settings(kwargs))
    reporter = Reporter(log_format)
    reporter.info(f"Building {ctx.project.name} as of {ctx.as_of.isoformat(sep=' ')} "
                  f"on {ctx.target_name} ({ctx.target.type})")
    report = build(ctx, run_checks=not skip_checks, full_refresh=full_refresh, on_result=reporter.result, on_checks=reporter.checks,
                   on_start=reporter.start, warn_error=warn_error)
    total = time.perf_counter() - reporter.started
    warned = sum(1 for r in report.checks if r.status != "pass")
    checks = f", {len(report.checks)} checks ({warned} warnings)" if report.checks else ""
    reporter.info(f"Done: {len(report.models)} models built and published in {total:.2f}s{checks}.")


@main.command(name="test")
@project_options
@log_format_option
@handle_errors
def test_(log_format, **kwargs):
    """Run the data-quality checks alone on the published tables (results go to dq_results).

    Exits 1 if a check of severity error fails.

    \b
    Example:
      clg-metrics test --select audience_research
    """
    from .runner import load_context, test

    ctx = load_context(_settings(kwargs))
    reporter = Reporter(log_format)
    report = test(ctx, on_checks=reporter.checks)
    failed = sum(1 for r in report.checks if r.status != "pass")
    reporter.info(f"Done: {len(report.checks)} checks, {failed} not passing (warnings only).")


@main.command()
@click.argument("table")
@click.option("--limit", "-n", default=50, show_default=True, type=click.IntRange(1, 1_000_000),
              help="At most this many rows.")
@click.option("--where", "where", default=None, help="Only rows matching this SQL condition, e.g. \"journey = 'x'\".")
@click.option("--format", "format_", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="csv or json (one object per line) to pipe the rows to another tool.")
@project_options
@handle_errors
def show(table, limit, where, format_, **kwargs):
    """Print a published table, e.g. the funnel (--select: only those journeys' rows).

    \b
    Example:
      clg-metrics show funnel
      clg-metrics show customer_progress --limit 20 --where "status = 'stalled'"
      clg-metrics show milestone_status --format csv > status.csv
    """
    from .runner import load_context, show as show_table

    ctx = load_context(_settings(kwargs))
    columns, rows = show_table(ctx, table, limit, where)
    if format_ == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        click.echo(out.getvalue(), nl=False)
    elif format_ == "json":
        for row in rows:
            click.echo(json.dumps(dict(zip(columns, row)), default=str))
    else:
        click.echo(format_table(columns, rows))


@main.command(name="ls")
@project_options
@handle_errors
def ls(**kwargs):
    """List the models in build order, with what each reads.

    \b
    Example:
      clg-metrics ls --select audience_research
    """
    from .runner import compile_dag, load_context

    ctx = load_context(_settings(kwargs), need_target=False)
    for model in compile_dag(ctx).ordered():
        reads = ", ".join(model.depends_on) or "-"
        click.echo(f"{model.kind:8} {model.name:40} <- {reads}")



@main.command()
@click.option("--journey", "-j", default=None, help="Only this journey (default: every published journey).")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the page (default: target/report.html).")
@project_options
@handle_errors
def report(journey, out, **kwargs):
    """Write one self-contained HTML page of the published tables: the job, the CX map, the funnel and
    its success gap, time to value, cohorts, KPI trends, win-back and the build's data quality.

    It reads only published tables (run `clg-metrics build` first) and loads nothing from a network:
    open it from disk, show it in an all-hands, attach it to an e-mail or print it on A4.

    \b
    Example:
      clg-metrics build && clg-metrics report --journey audience_research --out cx_map.html
    """
    from .report import write_report
    from .runner import load_context

    ctx = load_context(_settings(kwargs))
    path = write_report(ctx, journey, out)
    click.echo(f"Wrote {path} ({path.stat().st_size // 1024} KB).")


@main.command()
@click.argument("customer")
@click.option("--journey", "-j", default=None, help="Only this journey (default: every journey the customer is in).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: the stable document described in the README.")
@project_options
@handle_errors
def explain(customer, journey, fmt, **kwargs):
    """Why CUSTOMER is (or is not) at each milestone, as of the last build.

    Shows each milestone's published status and reached_at, and under it the condition tree with
    the customer's own figures (counts against thresholds, when each held, qualifying periods and
    runs, within deadlines), then the customer's segments. List customers with
    `clg-metrics show customer_progress`.

    \b
    Example:
      clg-metrics explain 1001 --journey audience_research
      clg-metrics explain 1001 --format json
    """
    from .explain import explain as explain_customer
    from .explain.render import render_text, to_json
    from .runner import load_context

    ctx = load_context(_settings(kwargs))
    docs = explain_customer(ctx, customer, journey)
    click.echo(to_json(docs) if fmt == "json" else render_text(docs), nl=fmt == "json")


if __name__ == "__main__":  # pragma: no cover
    entrypoint()
