"""The built-in checks as compiled SQL: the same results as great-expectations, many times faster.

GX computes uniqueness with ``count(*) OVER (PARTITION BY …)`` and needs seconds to import; the
built-in checks (not null, unique, compound unique, unexpected rows) are aggregates here. Those that
count rows of one relation (nulls, sets, events after ``as_of``, unknown customers, event names
that never occur) share one scan of it: one SELECT of ``count(*) FILTER (WHERE …)`` per check; a
sample is fetched only for a check that fails. Uniqueness needs its own hash table and runs alone,
and not at all when the warehouse declares the column a PRIMARY KEY or UNIQUE (``declared_unique``).
``tests/test_checks_fast.py`` runs both paths on the same data and requires equal status and
unexpected counts. Declared checks whose expectation has a compiled form here (``DECLARED``: the
null, set and uniqueness expectations, with ``mostly``) run here too, held to GX's results by the
same test; the rest go through GX, which is then the only reason a build imports it.
"""

from __future__ import annotations

import json
import time
from typing import Callable

from sqlglot import exp

from ..compiler.sqlfns import col
from ..engines import Engine
from .derive import BATCH, UNEXPECTED_ROWS, CheckSpec, LeafCounts, NamesOccur, RowCount
from ..errors import first_line
from ..filters import literal
from .gx import SAMPLE_SIZE, CheckResult, physical_query

SUPPORTED = {"ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique",
             UNEXPECTED_ROWS}


# declared expectations with a compiled form: GX class -> the arguments this path understands
DECLARED = {
    "ExpectColumnValuesToNotBeNull": {"column", "mostly"},
    "ExpectColumnValuesToBeNull": {"column", "mostly"},
    "ExpectColumnValuesToBeInSet": {"column", "value_set", "mostly"},
    "ExpectColumnValuesToNotBeInSet": {"column", "value_set", "mostly"},
    "ExpectColumnValuesToBeUnique": {"column"},
    "ExpectCompoundColumnsToBeUnique": {"column_list"},
}
# map expectations that, like GX, leave NULLs out of both the unexpected and the total count
_NULLS_IGNORED = {"ExpectColumnValuesToBeInSet", "ExpectColumnValuesToNotBeInSet"}


def supports(check: CheckSpec) -> bool:
    """Whether the check runs as compiled SQL here (else through GX)."""
    if not check.declared:
        return check.expectation in SUPPORTED
    allowed = DECLARED.get(check.expectation)
    return allowed is not None and set(check.kwargs) <= allowed


def _in_set(check: CheckSpec) -> exp.Expr:
    return exp.In(this=col(check.kwargs["column"]), expressions=[literal(v) for v in check.kwargs["value_set"]])


def _columns(check: CheckSpec) -> list[str]:
    if check.expectation == "ExpectColumnValuesToBeUnique":
        return [check.kwargs["column"]]
    return list(check.kwargs["column_list"])


def _duplicated(check: CheckSpec) -> exp.Select:
    """Groups of a uniqueness check's columns that occur more than once (NULLs are not values)."""
    columns = _columns(check)
    present = exp.and_(*[exp.Not(this=exp.Is(this=col(c), expression=exp.null())) for c in columns])
    return (exp.select(*[col(c) for c in columns], exp.alias_(exp.Count(this=exp.Star()), "clg_n"))
            .from_(exp.to_table(BATCH)).where(present).group_by(*[col(c) for c in columns])
            .having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1))))


def _unexpected_rows(check: CheckSpec) -> exp.Query:
    """A query whose rows are the check's unexpected rows (reading the sentinel batch table)."""
    if check.expectation == UNEXPECTED_ROWS:
        return check.query
    if check.expectation in ("ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeNull"):
        column = col(check.kwargs["column"])
        null = exp.Is(this=column.copy(), expression=exp.null())
        where = null if check.expectation == "ExpectColumnValuesToNotBeNull" else exp.Not(this=null)
        return exp.select(column).from_(exp.to_table(BATCH)).where(where)
    if check.expectation in _NULLS_IGNORED:
        column = col(check.kwargs["column"])
        present = exp.Not(this=exp.Is(this=column.copy(), expression=exp.null()))
        where = exp.Not(this=_in_set(check)) if check.expectation == "ExpectColumnValuesToBeInSet" else _in_set(check)
        return exp.select(column).from_(exp.to_table(BATCH)).where(exp.and_(present, where))
    columns = _columns(check)
    matching = exp.and_(*[exp.EQ(this=col(c, "b"), expression=col(c, "d")) for c in columns])
    return (exp.select(*[col(c, "b") for c in columns]).from_(exp.alias_(exp.to_table(BATCH), "b"))
            .join(_duplicated(check).subquery("d"), on=matching))


def _count(check: CheckSpec) -> exp.Query:
    """How many rows are unexpected. GX counts every row whose value occurs more than once, not the
    extra copies: for uniqueness that is the sum of the duplicated groups' sizes (no join back)."""
    if check.expectation in ("ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique"):
        total = exp.Coalesce(this=exp.Sum(this=col("clg_n")), expressions=[exp.Literal.number(0)])
        return exp.select(total).from_(_duplicated(check).subquery("d"))
    return exp.select(exp.Count(this=exp.Star())).from_(_unexpected_rows(check).subquery("u"))


def _total(check: CheckSpec) -> exp.Query:
    """The rows ``mostly`` is a fraction of: GX's non-null count (every row for the null checks)."""
    if check.expectation in _NULLS_IGNORED:
        return exp.select(exp.Count(this=col(check.kwargs["column"]))).from_(exp.to_table(BATCH))
    return exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(BATCH))


def _passes(check: CheckSpec, count: int, total: int | None) -> bool:
    """GX's verdict: nothing unexpected, or with ``mostly`` enough of the rows expected."""
    mostly = check.kwargs.get("mostly")
    if not count:
        return True
    if mostly is None or not total:
        return False
    return (total - count) / total >= mostly


def _probe(check: CheckSpec, query: exp.Query) -> CheckSpec:
    return CheckSpec(check.name, check.relation, UNEXPECTED_ROWS, query=query)


KNOWN_KEY = "__clg_k"  # the column of a left-joined relation of known values in the shared scan


def _row_predicate(check: CheckSpec) -> exp.Expr | None:
    """Which batch rows a row-counting check finds unexpected (None: the check does not count rows)."""
    if check.expectation in ("ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeNull"):
        null = exp.Is(this=col(check.kwargs["column"]), expression=exp.null())
        return null if check.expectation == "ExpectColumnValuesToNotBeNull" else exp.Not(this=null)
    if check.expectation in _NULLS_IGNORED:
        present = exp.Not(this=exp.Is(this=col(check.kwargs["column"]), expression=exp.null()))
        where = exp.Not(this=_in_set(check)) if check.expectation == "ExpectColumnValuesToBeInSet" else _in_set(check)
        return exp.and_(present, where)
    if check.expectation == UNEXPECTED_ROWS and isinstance(check.fused, RowCount):
        return check.fused.predicate.copy()
    return None


def shares_scan(check: CheckSpec) -> bool:
    """Whether the check is counted in its relation's shared scan."""
    return isinstance(check.fused, (NamesOccur, LeafCounts)) or _row_predicate(check) is not None


def _count_where(predicate: exp.Expr | None) -> exp.Expr:
    count = exp.Count(this=exp.Star())
    return count if predicate is None else exp.Filter(this=count, expression=exp.Where(this=predicate))


def counted_rows(check: CheckSpec) -> list[exp.Expr | None]:
    """The predicates whose row counts are a shared-scan check's values (None: every row): one per
    name for ``NamesOccur``, two per leaf for ``LeafCounts``, else [unexpected] and, with
    ``mostly``, the total (GX's: the non-NULL rows for the set expectations). A check with
    ``known`` counts its predicate here; the rows whose value is known are taken out by the
    caller (a join here, per-customer counts in ``checks/stateful.py``)."""
    if isinstance(check.fused, NamesOccur):
        return [exp.EQ(this=col(check.fused.column), expression=literal(name)) for name in check.fused.names]
    if isinstance(check.fused, LeafCounts):
        return [p.copy() for pair in check.fused.pairs for p in pair]
    out: list[exp.Expr | None] = [_row_predicate(check)]
    if check.kwargs.get("mostly") is not None:
        column = check.kwargs["column"]
        out.append(exp.Not(this=exp.Is(this=col(column), expression=exp.null()))
                   if check.expectation in _NULLS_IGNORED else None)
    return out


def counted_result(check: CheckSpec, values: list[int], sample: Callable[[], str | None]
                   ) -> tuple[str, int, str | None]:
    """(status, unexpected count, sample) of a shared-scan check from its ``counted_rows`` counts;
    ``sample()`` fetches the sample of a row-counting check that found something."""
    if isinstance(check.fused, NamesOccur):
        missing = [[name] for name, n in zip(check.fused.names, values) if not n]
        return ("fail" if missing else "pass"), len(missing), json.dumps(missing[:SAMPLE_SIZE]) if missing else None
    if isinstance(check.fused, LeafCounts):
        unmatched = [[*row, values[2 * i + 1]] for i, row in enumerate(check.fused.rows)
                     if values[2 * i] == 0 and values[2 * i + 1] > 0]
        return ("fail" if unmatched else "pass"), len(unmatched), json.dumps(unmatched[:SAMPLE_SIZE]) if unmatched else None
    count = int(values[0])
    total = int(values[1]) if len(values) > 1 else None
    return ("pass" if _passes(check, count, total) else "fail"), count, sample() if count else None


def shared_scan(checks: list[CheckSpec]) -> tuple[exp.Select, list[list[int]]]:
    """One SELECT over the batch computing every check's counts, and for each check the positions
    of its ``counted_rows`` values in the row."""
    values: list[exp.Expr] = []
    joins: dict[tuple[str, str, str], str] = {}
    positions: list[list[int]] = []

    def add(value: exp.Expr) -> int:
        values.append(exp.alias_(value, f"c{len(values)}"))
        return len(values) - 1

    for check in checks:
        predicates = counted_rows(check)
        if isinstance(check.fused, RowCount) and check.fused.known is not None:
            alias = joins.setdefault(check.fused.known, f"__clg_known_{len(joins)}")
            predicates[0] = exp.and_(predicates[0], exp.Is(this=col(KNOWN_KEY, alias), expression=exp.null()))
        positions.append([add(_count_where(p)) for p in predicates])
    select = exp.select(*values).from_(exp.to_table(BATCH))
    for (relation, column, batch_column), alias in joins.items():
        known = (exp.select(exp.alias_(col(column), KNOWN_KEY)).distinct().from_(exp.to_table(relation))
                 .where(exp.Not(this=exp.Is(this=col(column), expression=exp.null()))))
        select = select.join(known.subquery(alias), join_type="LEFT",
                             on=exp.EQ(this=col(batch_column), expression=col(KNOWN_KEY, alias)))
    return select, positions


def fetch_sample(engine: Engine, check: CheckSpec, physical: Callable[[str], str], batch: str | exp.Expr,
                 limit: int = SAMPLE_SIZE) -> list:
    """Up to ``limit`` of the check's unexpected rows in ``batch`` (a table, or a subquery of the
    rows to look in): one value per row for a column check, the row for UNEXPECTED_ROWS."""
    sample_query = exp.select("*").from_(_unexpected_rows(check).subquery("u")).limit(limit)
    _, found = engine.fetch(physical_query(_probe(check, sample_query), physical, batch))
    return [r[0] if len(r) == 1 and check.expectation != UNEXPECTED_ROWS else list(r) for r in found]


def _sample(engine: Engine, check: CheckSpec, physical: Callable[[str], str], table: str) -> str:
    """Up to SAMPLE_SIZE of the check's unexpected rows (a second query, for failing checks only)."""
    return json.dumps(fetch_sample(engine, check, physical, table), default=str)


def _run_shared(engine: Engine, checks: list[CheckSpec], physical: Callable[[str], str]) -> list[CheckResult] | None:
    """The checks of one relation from one scan; None if that query fails (each then runs alone,
    so that an error names its own check)."""
    started = time.perf_counter()
    table = physical(checks[0].relation)
    query, positions = shared_scan(checks)
    try:
        _, rows = engine.fetch(physical_query(_probe(checks[0], query), physical, table))
    except Exception:
        return None
    row = rows[0]
    share = (time.perf_counter() - started) / len(checks)
    results = []
    for check, where in zip(checks, positions):
        started = time.perf_counter()
        try:
            status, count, sample = counted_result(check, [int(row[i] or 0) for i in where],
                                                   lambda: _sample(engine, check, physical, table))
            results.append(CheckResult(check, status, count, sample, share + time.perf_counter() - started))
        except Exception as exc:  # the sample query could not run
            results.append(CheckResult(check, "error", None, json.dumps([first_line(exc, 300)]),
                                       share + time.perf_counter() - started))
    return results


def declared_unique(engine: Engine, table: str, column: str, depth: int = 0) -> bool:
    """Whether the warehouse declares ``column`` of ``table`` (schema.table) a single-column PRIMARY
    KEY or UNIQUE constraint (information_schema, on DuckDB and PostgreSQL): then the engine already
    guarantees what the uniqueness check would scan for. A view that only projects and filters one
    table (no join, grouping, set operation or unnest: it cannot repeat a row) inherits the key of
    the column it passes through, as a staging view over the events table does. Any failure to
    tell: False (the check scans)."""
    if engine.dialect not in ("duckdb", "postgres") or depth > 3:
        return False
    parts = table.split(".")
    name, schema = parts[-1], (parts[-2] if len(parts) > 1 else None)
    try:
        if _declared_key(engine, name, schema, column):
            return True
        source = _passed_through(engine, name, schema, column)
    except Exception:
        return False
    return source is not None and declared_unique(engine, source[0], source[1], depth + 1)


def _catalog_where(alias: str, name: str, schema: str | None) -> list[exp.Expr]:
    where = [exp.EQ(this=exp.Lower(this=col("table_name", alias)), expression=literal(name.lower()))]
    if schema:
        where.append(exp.EQ(this=exp.Lower(this=col("table_schema", alias)), expression=literal(schema.lower())))
    return where


def _declared_key(engine: Engine, name: str, schema: str | None, column: str) -> bool:
    tc, k = "tc", "k"
    same = [exp.EQ(this=col(c, k), expression=col(c, tc)) for c in ("constraint_name", "constraint_schema", "table_name")]
    where = _catalog_where(tc, name, schema) + [
        exp.In(this=col("constraint_type", tc), expressions=[literal("PRIMARY KEY"), literal("UNIQUE")])]
    query = (exp.select(col("constraint_name", tc))
             .from_(exp.alias_(exp.to_table("information_schema.table_constraints"), tc))
             .join(exp.alias_(exp.to_table("information_schema.key_column_usage"), k), on=exp.and_(*same))
             .where(exp.and_(*where)).group_by(col("constraint_name", tc))
             .having(exp.and_(exp.EQ(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)),
                              exp.EQ(this=exp.Lower(this=exp.Max(this=col("column_name", k))),
                                     expression=literal(column.lower())))))
    _, rows = engine.fetch(query)
    return bool(rows)


def _passed_through(engine: Engine, name: str, schema: str | None, column: str) -> tuple[str, str] | None:
    """(table, column) if ``name`` is a view that passes ``column`` through from one table unchanged
    and cannot repeat rows; None otherwise."""
    import sqlglot

    query = (exp.select(col("view_definition", "views"))
             .from_(exp.alias_(exp.to_table("information_schema.views"), "views"))
             .where(exp.and_(*_catalog_where("views", name, schema))))
    _, rows = engine.fetch(query)
    if len(rows) != 1 or not rows[0][0]:
        return None
    parsed = sqlglot.parse_one(rows[0][0].strip().rstrip(";"), read=engine.dialect)
    select = parsed.expression if isinstance(parsed, exp.Create) else parsed
    if not isinstance(select, exp.Select) or any(select.args.get(a) for a in ("joins", "laterals", "group", "with_")):
        return None
    source = select.args.get("from_")
    if source is None or not isinstance(source.this, exp.Table) or select.find(exp.Unnest, exp.Explode, exp.Window):
        return None
    for projection in select.expressions:
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if projection.alias_or_name.lower() == column.lower() and isinstance(inner, exp.Column):
            base = source.this
            return ".".join(p for p in (base.db, base.name) if p), inner.name
    return None


def _run_alone(engine: Engine, check: CheckSpec, physical: Callable[[str], str]) -> CheckResult:
    """One check: a count, and a sample when something is unexpected."""
    started = time.perf_counter()
    table = physical(check.relation)
    try:
        if (not check.declared and check.expectation == "ExpectColumnValuesToBeUnique"
                and declared_unique(engine, table, check.kwargs["column"])):
            return CheckResult(check, "pass", 0, None, time.perf_counter() - started,
                               hint=f"not scanned: `{table}` declares `{check.kwargs['column']}` PRIMARY KEY or UNIQUE")
        _, rows = engine.fetch(physical_query(_probe(check, _count(check)), physical, table))
        count = int(rows[0][0])
        total = None
        if count and check.kwargs.get("mostly") is not None:
            _, totals = engine.fetch(physical_query(_probe(check, _total(check)), physical, table))
            total = int(totals[0][0])
        sample = _sample(engine, check, physical, table) if count else None
        return CheckResult(check, "pass" if _passes(check, count, total) else "fail", count, sample,
                           time.perf_counter() - started)
    except Exception as exc:  # a missing table or column: the check could not run
        message = first_line(exc, 300)
        return CheckResult(check, "error", None, json.dumps([message]), time.perf_counter() - started)


def run_fast_checks(engine: Engine, checks: list[CheckSpec], physical: Callable[[str], str]) -> list[CheckResult]:
    """Run built-in checks as SQL on the engine: per relation one shared scan for the row counts,
    one query per uniqueness check, and a sample for each check that fails (in ``checks``' order);
    the invariants of ``milestone_status`` first in one pass (``output_scan.py``)."""
    from .output_scan import passed_milestone_rows

    by_relation: dict[str, list[CheckSpec]] = {}
    for check in checks:
        if shares_scan(check):
            by_relation.setdefault(check.relation, []).append(check)
    done: dict[int, CheckResult] = {id(r.check): r for r in passed_milestone_rows(engine, checks, physical)}
    for group in by_relation.values():
        for result in _run_shared(engine, group, physical) or []:
            done[id(result.check)] = result
    return [done.get(id(check)) or _run_alone(engine, check, physical) for check in checks]
