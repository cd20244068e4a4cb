"""Which checks a build runs: derived from the journeys, and declared by users under ``checks:``.

Source checks run on the journeys' inputs before any journey is built; output checks run on the
staged outputs before they are published. SQL-shaped checks are ``UnexpectedRowsExpectation``s
whose query is a sqlglot tree reading the sentinel table ``__batch__`` (GX's ``{batch}``), so that
relation names are filled in when the run knows them and values still reach SQL as literals.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlglot import exp

from ..compiler.sqlfns import col, parse_timestamp, timestamp
from ..filters import literal
from ..loader import Project
from ..conditions import walk
from .catalog import CheckDecl

BATCH = "__clg_gx_batch__"  # stands for GX's {batch} until the check runs
UNEXPECTED_ROWS = "UnexpectedRowsExpectation"


@dataclass(frozen=True)
class RowCount:
    """A check whose unexpected rows are the batch rows where ``predicate`` holds: its count is one
    FILTER aggregate in the relation's shared scan (``checks/fast.py``), its query (``CheckSpec.query``)
    is run only for a sample when it fails. With ``known`` = (relation, column), a row is unexpected
    only if also its ``column_of_batch`` value is not among ``relation.column``'s non-NULL values
    (the shared scan left-joins them once)."""

    predicate: exp.Expr
    known: tuple[str, str, str] | None = None  # (relation, its column, the batch's column)


@dataclass(frozen=True)
class NamesOccur:
    """A check that every one of ``names`` occurs in the batch's ``column``: one FILTER count per
    name in the shared scan; the unexpected rows are the names counted 0 (no second query)."""

    column: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class LeafCounts:
    """``filters_match``: for each filtered event leaf a pair of predicates over the batch's own rows
    (the rows the journey stages, that match the leaf; those of its event names), counted in the
    shared scan. A leaf is unexpected when the first count is 0 and the second is not; the sample
    is those leaves' ``rows`` (kind, name, filter) with the second count, as ``query`` returns them."""

    pairs: tuple[tuple[exp.Expr, exp.Expr], ...]
    rows: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class MilestoneRows:
    """The invariants of ``milestone_status`` (one row per journey, customer and milestone; every
    milestone per customer; ``reached_at`` never decreasing along a sequential journey), proved
    together by one GROUP BY journey, customer (``checks/fast.py``): each of a journey's N milestone
    names and indexes 1..N weighs a distinct power of two, and N rows whose weights sum to 2^N - 1
    are exactly those N once each (fewer terms than the sum's ones are impossible, repeats need more).
    Only when that finds something do the checks run their own queries, for GX's counts and samples.
    ``journeys``: (journey, milestone names in order, sequential)."""

    journeys: tuple[tuple[str, tuple[str, ...], bool], ...]


@dataclass
class CheckSpec:
    """One check: a GX expectation (class name and arguments) on one relation."""

    name: str
    relation: str  # a seed, sql model, warehouse table or output, as the project names it
    expectation: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    severity: Literal["warn", "error"] = "error"
    stage: Literal["source", "output"] = "source"
    column: str | None = None
    query: exp.Query | None = None  # for UnexpectedRowsExpectation: reads BATCH and maybe other relations
    declared: bool = False  # written by a user under checks: (always run through GX)
    fused: RowCount | NamesOccur | LeafCounts | MilestoneRows | None = None  # how a built-in check is counted

    @property
    def key(self) -> tuple:
        return (self.relation, self.name)


def _batch(alias: str | None = None) -> exp.Expr:
    """The checked relation. GX substitutes ``{batch}`` with an aliased subquery, so an alias of
    our own goes on a wrapping subquery."""
    table = exp.to_table(BATCH)
    return exp.select("*").from_(table).subquery(alias) if alias else table


def _declared(relation: str, decl: CheckDecl, stage: str = "source") -> CheckSpec:
    args = decl.arguments
    column = args.get("column") or args.get("column_A")
    name = decl.name or ".".join(p for p in (relation.split(".")[-1], column, decl.expect.removeprefix("expect_")) if p)
    return CheckSpec(name, relation, decl.gx_class, args, decl.severity, stage, column, declared=True)


def _event_names(condition) -> list[str]:
    return [name for node, _, _ in walk(condition) for name in node.event_names]


def source_checks(project: Project, as_of: datetime, journeys: list[str] | None = None,
                  source_columns=None) -> list[CheckSpec]:
    """Checks on the journeys' events and customers sources, derived and declared (deduplicated),
    with the severity or ``enabled: false`` set for them under ``checks:`` in clg_project.yml."""
    configured = project.config.checks
    out = []
    for check in _source_checks(project, as_of, journeys, source_columns):
        config = configured.get(check.name)
        if config is not None and not config.enabled:
            continue
        if config is not None and config.severity is not None:
            check = dataclasses.replace(check, severity=config.severity)
        out.append(check)
    return out


def configurable_check_names(project: Project) -> tuple[list[str], list[str]]:
    """The names ``checks:`` in clg_project.yml may set, known without a database: (source checks,
    output invariants). ``<events>.event_id.unique`` exists only if the warehouse's events source
    has an ``event_id`` column, so it counts as known for every events source."""
    names = {c.name for c in _source_checks(project, datetime(1970, 1, 1), None, None)}
    names |= {f"{j.journey.events.from_.lower().split('.')[-1]}.{j.journey.events.columns.event_id}.unique"
              for j in project.journeys}
    return sorted(names), sorted({c.name for c in output_checks(project)})


def _source_checks(project: Project, as_of: datetime, journeys: list[str] | None = None,
                   source_columns=None) -> list[CheckSpec]:
    checks: dict[tuple, CheckSpec] = {}

    def add(check: CheckSpec) -> None:
        checks.setdefault(check.key, check)

    for loaded in project.journeys:
        if journeys is not None and loaded.name not in journeys:
            continue
        journey = loaded.journey
        events, mapping = journey.events.from_.lower(), journey.events.columns
        short = events.split(".")[-1]
        for canonical in ("customer_id", "event_name", "occurred_at"):
            column = getattr(mapping, canonical)
            add(CheckSpec(f"{short}.{column}.not_null", events, "ExpectColumnValuesToNotBeNull",
                          {"column": column}, "error", column=column))
        columns = source_columns(events) if source_columns else None
        if columns is not None and mapping.event_id in columns:
            add(CheckSpec(f"{short}.{mapping.event_id}.unique", events, "ExpectColumnValuesToBeUnique",
                          {"column": mapping.event_id}, "error", column=mapping.event_id))
        occurred = parse_timestamp(col(mapping.occurred_at), mapping.timestamp_format)
        late = exp.GT(this=occurred, expression=timestamp(as_of))
        after = exp.select("*").from_(_batch()).where(late.copy())
        add(CheckSpec(f"{short}.{mapping.occurred_at}.at_or_before_as_of", events, UNEXPECTED_ROWS, {}, "warn",
                      column=mapping.occurred_at, query=after, fused=RowCount(late)))
        names = sorted({n for _, m in journey.milestones for n in _event_names(m.reached_when)})
        if names:
            used = exp.Values(expressions=[exp.Tuple(expressions=[literal(n)]) for n in names],
                              alias=exp.TableAlias(this=exp.to_identifier("v"),
                                                   columns=[exp.to_identifier("event_name")]))
            seen = exp.select("1").from_(_batch("e")).where(
                exp.EQ(this=col(mapping.event_name, "e"), expression=col("event_name", "v")))
            missing = exp.select(col("event_name", "v")).from_(used).where(exp.Not(this=exp.Exists(this=seen)))
            add(CheckSpec(f"{short}.{journey.journey}.event_names_occur", events, UNEXPECTED_ROWS, {}, "warn",
                          column=mapping.event_name, query=missing, fused=NamesOccur(mapping.event_name, tuple(names))))
        unmatched = unmatched_filters_query(journey, columns, as_of, project.config.sql_dialect)
        if unmatched is not None:
            add(CheckSpec(f"{short}.{journey.journey}.filters_match", events, UNEXPECTED_ROWS, {}, "warn",
                          query=unmatched, fused=leaf_counts(journey, columns, as_of, project.config.sql_dialect)))
        for decl in journey.events.checks:
            add(_declared(events, decl))
        if journey.customers is not None:
            customers, cmap = journey.customers.from_.lower(), journey.customers.columns
            add(CheckSpec(f"{customers.split('.')[-1]}.{cmap.customer_id}.unique", customers,
                          "ExpectColumnValuesToBeUnique", {"column": cmap.customer_id}, "error", column=cmap.customer_id))
            # warn: a customer row without an id belongs to nobody, so the journeys skip it and every
            # customer's result stays right; the warning says that a row of the source was not used
            add(CheckSpec(f"{customers.split('.')[-1]}.{cmap.customer_id}.not_null", customers,
                          "ExpectColumnValuesToNotBeNull", {"column": cmap.customer_id}, "warn",
                          column=cmap.customer_id))
            # NOT IN over the non-NULL ids: DuckDB plans it as a hash anti-join, ~3x faster than NOT EXISTS here
            known = exp.select(col(cmap.customer_id)).from_(exp.to_table(customers)).where(
                exp.Not(this=exp.Is(this=col(cmap.customer_id), expression=exp.null())))
            has_id = exp.Not(this=exp.Is(this=col(mapping.customer_id), expression=exp.null()))
            orphans = exp.select("*").from_(_batch()).where(
                exp.and_(has_id.copy(), exp.Not(this=col(mapping.customer_id).isin(query=known))))
            add(CheckSpec(f"{short}.{mapping.customer_id}.in_{customers.split('.')[-1]}", events, UNEXPECTED_ROWS,
                          {}, "warn", column=mapping.customer_id, query=orphans,
                          fused=RowCount(has_id, (customers, cmap.customer_id, mapping.customer_id))))
            for decl in journey.customers.checks:
                add(_declared(customers, decl))
    for relation, config in project.config.models.items():
        for decl in config.checks:
            add(_declared(relation.lower(), decl))
    return list(checks.values())


def output_checks(project: Project, journeys: list[str] | None = None) -> list[CheckSpec]:
    """Invariants of the outputs (SPEC §3), checked before they are published."""
    selected = [j.journey for j in project.journeys if journeys is None or j.name in journeys]
    selected = [j for j in selected if j.milestones]
    if not selected:
        return []
    shape = MilestoneRows(tuple((j.journey, tuple(m.milestone for _, m in j.milestones), j.order == "sequential")
                                for j in selected))
    checks = [CheckSpec("milestone_status.one_row_per_journey_customer_milestone", "milestone_status",
                        "ExpectCompoundColumnsToBeUnique", {"column_list": ["journey", "customer_id", "milestone"]},
                        "error", "output", fused=shape)]
    expected = exp.Case(this=col("journey"), ifs=[exp.If(this=literal(j.journey), true=literal(len(j.milestones)))
                                                  for j in selected])
    incomplete = (exp.select(col("journey"), col("customer_id"), exp.alias_(exp.Count(this=exp.Star()), "n"))
                  .from_(_batch()).group_by(col("journey"), col("customer_id"))
                  .having(exp.NEQ(this=exp.Count(this=exp.Star()), expression=expected)))
    checks.append(CheckSpec("milestone_status.every_milestone_per_customer", "milestone_status", UNEXPECTED_ROWS,
                            {}, "error", "output", query=incomplete, fused=shape))
    sequential = [literal(j.journey) for j in selected if j.order == "sequential"]
    if sequential:
        def previous_join(table_alias: str, previous_alias: str) -> exp.Expr:
            return exp.and_(
                exp.EQ(this=col("journey", previous_alias), expression=col("journey", table_alias)),
                exp.EQ(this=col("milestone_index", previous_alias),
                       expression=exp.Sub(this=col("milestone_index", table_alias), expression=literal(1))))

        growing = (exp.select(col("journey", "f"), col("milestone", "f"), col("customers_reached", "f"),
                              exp.alias_(col("customers_reached", "p"), "previous_reached"))
                   .from_(_batch("f")).join(_batch("p"), on=previous_join("f", "p"))
                   .where(exp.and_(exp.In(this=col("journey", "f"), expressions=sequential),
                                   exp.GT(this=col("customers_reached", "f"), expression=col("customers_reached", "p")))))
        checks.append(CheckSpec("funnel.customers_reached_never_increases", "funnel", UNEXPECTED_ROWS, {}, "error",
                                "output", "customers_reached", growing))
        earlier = (exp.select(col("journey", "s"), col("customer_id", "s"), col("milestone", "s"),
                              col("reached_at", "s"), exp.alias_(col("reached_at", "p"), "previous_reached_at"))
                   .from_(_batch("s")).join(_batch("p"), on=exp.and_(
                       previous_join("s", "p"), exp.EQ(this=col("customer_id", "p"), expression=col("customer_id", "s"))))
                   .where(exp.and_(exp.In(this=col("journey", "s"), expressions=[s.copy() for s in sequential]),
                                   exp.LT(this=col("reached_at", "s"), expression=col("reached_at", "p")))))
        checks.append(CheckSpec("milestone_status.reached_at_never_decreases", "milestone_status", UNEXPECTED_ROWS,
                                {}, "error", "output", "reached_at", earlier, fused=shape))
    return checks


def explain_missing_events(project: Project, result, engine, physical, rows: exp.Query | None = None) -> None:
    """A failed ``<events>.<journey>.event_names_occur``: its hint names the milestones whose event
    never occurs, with a did-you-mean from the names that do (one query over the source, or over
    ``rows`` of it: the new events of an incremental check run)."""
    from ..errors import did_you_mean

    short, journey_name = result.check.name.split(".")[:2]
    loaded = next((j for j in project.journeys if j.name == journey_name), None)
    if loaded is None or result.status != "fail":
        return
    journey = loaded.journey
    column = journey.events.columns.event_name
    source = rows.subquery("e") if rows is not None else exp.to_table(physical(journey.events.from_.lower()))
    query = exp.select(col(column)).distinct().from_(source).limit(5000)
    try:
        _, rows = engine.fetch(query)
    except Exception:  # a courtesy: the warning stands without it
        return
    occurring = [str(r[0]) for r in rows if r[0] is not None]
    parts = []
    for _, milestone in journey.milestones:
        for name in _event_names(milestone.reached_when):
            if name in occurring:
                continue
            hint = did_you_mean(name, occurring)
            parts.append(f"journey `{journey.journey}`, milestone `{milestone.milestone}`: event `{name}` never "
                         f"occurs in `{journey.events.from_}`" + (f" ({hint})" if hint else ""))
    if parts:
        result.hint = "; ".join(dict.fromkeys(parts))


# --- where filters that match nothing ------------------------------------------------------------


from .filters_match import leaf_counts, unmatched_filters_query  # noqa: E402  (they read BATCH from here)
