"""What the report shows, read from the PUBLISHED tables (SPEC §3–§5) and ``target/run_results.json``.

The report computes no metric of its own: every number on the page is a value of a published
table, or a count of its rows (the status mix of ``milestone_status``, win-back customers per next
milestone, the spread of days between two milestones' ``reached_at``). Queries are sqlglot trees
run through the engine (read-only), so the report works on every target the build does. A table a
build of this version does not publish yet (SPEC §4/§5 tables on an older build) is ``None``, and its
section is left out with a note instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlglot import exp

from ..context import Context
from ..engines import Engine, connect
from ..errors import ClgError, did_you_mean, one_of

Row = dict[str, Any]

# Each table's rows in the order the page shows them.
ORDER = {
    "funnel": ["milestone_index"],
    "segment_funnel": ["segment", "milestone_index"],
    "success_gaps": ["segment", "rank"],
    "cohort_funnel": ["cohort_start", "milestone_index"],
    "kpi_trend": ["milestone_index", "period_start"],
    "period_kpis": ["milestone_index", "period_start"],
    "job_statements": ["rank"],
}


@dataclass
class JourneyData:
    """One journey's rows of every published table the report reads (None: table not published)."""

    name: str
    description: str | None
    job: Any  # spec.Job | None
    funnel: list[Row]
    status_mix: dict[int, dict[str, int]]  # milestone_index -> status -> customers
    days_between: dict[int, list[float]]  # milestone_index -> days since the previous milestone's reached_at
    segment_funnel: list[Row] | None = None
    success_gaps: list[Row] | None = None
    cohort_funnel: list[Row] | None = None
    kpi_trend: list[Row] | None = None
    period_kpis: list[Row] | None = None
    win_back: dict[str, int] | None = None  # next_milestone -> customers
    job_statements: list[Row] | None = None

    @property
    def success_gap(self) -> Row | None:
        """The journey's success gap: rank 1 of ``success_gaps`` for segment ``all`` (SPEC §4)."""
        for row in self.success_gaps or []:
            if row["segment"] == "all" and row["rank"] == 1:
                return row
        return None

    @property
    def benchmark(self) -> str | None:
        """The benchmark segment named by the published success gaps (None without segments)."""
        for row in self.success_gaps or []:
            if row.get("benchmark_segment"):
                return row["benchmark_segment"]
        return None

    def segment_rows(self, segment: str) -> list[Row]:
        return [r for r in self.segment_funnel or [] if r["segment"] == segment]


@dataclass
class BuildData:
    """The build the tables come from: its as_of, id (the dq run_id) and its data-quality results."""

    as_of: str | None
    generated_at: str | None
    target: str | None
    run_id: str | None
    checks: list[Row] = field(default_factory=list)  # dq_results rows of run_id


@dataclass
class ReportData:
    project: str
    target_name: str
    build: BuildData
    journeys: list[JourneyData]


def load_report_data(ctx: Context, journey: str | None = None) -> ReportData:
    """Every published row the report shows, for one journey or all the project's published ones."""
    engine = connect(ctx.target, ctx.project.root, read_only=True)
    try:
        tables = set(engine.tables())
        if "funnel" not in tables:
            raise ClgError(f"no published tables in {ctx.target_name}: run `clg-metrics build` first")
        published = sorted({r["journey"] for r in _rows(engine, tables, "funnel")})
        names = [j.name for j in ctx.project.journeys if j.name in published] + \
                [n for n in published if n not in {j.name for j in ctx.project.journeys}]
        if journey is not None:
            if journey not in published:
                hint = did_you_mean(journey, published) or (one_of(published) if published else "none is published")
                raise ClgError(f"--journey: no published journey `{journey}` ({hint})")
            names = [journey]
        specs = {j.name: j.journey for j in ctx.project.journeys}
        journeys = [_journey(engine, tables, name, specs.get(name)) for name in names]
        return ReportData(ctx.project.name, ctx.target_name, _build(ctx, engine, tables), journeys)
    finally:
        engine.close()


def _journey(engine: Engine, tables: set[str], name: str, spec: Any) -> JourneyData:
    def rows(table: str) -> list[Row] | None:
        return _rows(engine, tables, table, name) if table in tables else None

    data = JourneyData(name=name, description=spec.description if spec else None, job=spec.job if spec else None,
                       funnel=rows("funnel") or [], status_mix=_status_mix(engine, name),
                       days_between=_days_between(engine, name))
    for table in ("segment_funnel", "success_gaps", "cohort_funnel", "kpi_trend", "period_kpis", "job_statements"):
        setattr(data, table, rows(table))
    if "win_back" in tables:
        data.win_back = _count_by(engine, "win_back", name, "next_milestone")
    return data


def _table(engine: Engine, table: str) -> exp.Table:
    return exp.table_(table, db=engine.schema, quoted=True)


def _for_journey(query: exp.Select, journey: str | None) -> exp.Select:
    if journey is None:
        return query
    return query.where(exp.column("journey").eq(exp.Literal.string(journey)))


def _fetch(engine: Engine, query: exp.Expr) -> list[Row]:
    columns, rows = engine.fetch(query)
    return [dict(zip(columns, row)) for row in rows]


def _rows(engine: Engine, tables: set[str], table: str, journey: str | None = None) -> list[Row]:
    query = _for_journey(exp.select("*").from_(_table(engine, table)), journey)
    order = ORDER.get(table)
    if order:
        query = query.order_by(*order)
    return _fetch(engine, query)


def _count_by(engine: Engine, table: str, journey: str, column: str) -> dict[str, int]:
    """Rows of ``table`` per value of ``column`` (a count of published rows, not a new metric)."""
    query = _for_journey(exp.select(exp.column(column), exp.alias_(exp.Count(this=exp.Star()), "n"))
                         .from_(_table(engine, table)), journey).group_by(exp.column(column))
    return {r[column]: int(r["n"]) for r in _fetch(engine, query)}


def _status_mix(engine: Engine, journey: str) -> dict[int, dict[str, int]]:
    """Customers per milestone and ``status`` of ``milestone_status``."""
    query = _for_journey(exp.select("milestone_index", "status", exp.alias_(exp.Count(this=exp.Star()), "n"))
                         .from_(_table(engine, "milestone_status")), journey).group_by("milestone_index", "status")
    mix: dict[int, dict[str, int]] = {}
    for r in _fetch(engine, query):
        mix.setdefault(int(r["milestone_index"]), {})[r["status"]] = int(r["n"])
    return mix


def _days_between(engine: Engine, journey: str) -> dict[int, list[float]]:
    """For each milestone from the second on, the days from the previous milestone's ``reached_at`` to
    its own, of every customer who reached both: the spread behind ``funnel.median_days_from_previous``.

    Read as rows of ``milestone_status`` (customer, index, reached_at) and differenced here: a
    timestamp difference is written differently by every engine, and the report only draws it.
    """
    query = _for_journey(exp.select("customer_id", "milestone_index", "reached_at")
                         .from_(_table(engine, "milestone_status")), journey)
    query = query.where(exp.column("reached_at").is_(exp.null()).not_())
    reached: dict[Any, dict[int, datetime]] = {}
    for r in _fetch(engine, query):
        reached.setdefault(r["customer_id"], {})[int(r["milestone_index"])] = r["reached_at"]
    spread: dict[int, list[float]] = {}
    for moments in reached.values():
        for index, at in moments.items():
            before = moments.get(index - 1)
            if before is not None and index > 1:
                spread.setdefault(index, []).append((at - before).total_seconds() / 86400)
    return spread


def _build(ctx: Context, engine: Engine, tables: set[str]) -> BuildData:
    """as_of and target from ``target/run_results.json``; the build id is the latest ``run_id`` of
    ``dq_results`` and its checks are that run's rows."""
    meta: dict[str, Any] = {}
    path = ctx.target_dir / "run_results.json"
    if path.exists():
        try:
            meta = json.loads(path.read_text()).get("metadata", {})
        except (OSError, ValueError):
            meta = {}
    build = BuildData(as_of=meta.get("as_of"), generated_at=meta.get("generated_at"), target=meta.get("target"),
                      run_id=None)
    if "dq_results" in tables:
        latest = _fetch(engine, exp.select(exp.alias_(exp.Max(this=exp.column("run_id")), "run_id"))
                        .from_(_table(engine, "dq_results")))
        build.run_id = latest[0]["run_id"] if latest else None
        if build.run_id is not None:
            query = (exp.select("*").from_(_table(engine, "dq_results"))
                     .where(exp.column("run_id").eq(exp.Literal.string(build.run_id)))
                     .order_by("severity", "check_name"))
            build.checks = _fetch(engine, query)
    return build
