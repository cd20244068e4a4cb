"""The built-in checks as compiled SQL: the same results as great-expectations, many times faster.

GX computes uniqueness with ``count(*) OVER (PARTITION BY …)`` and needs seconds to import; the
built-in checks (not null, unique, compound unique, unexpected rows) are one aggregate each here.
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
from .derive import BATCH, UNEXPECTED_ROWS, CheckSpec
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


def run_fast_checks(engine: Engine, checks: list[CheckSpec], physical: Callable[[str], str]) -> list[CheckResult]:
    """Run built-in checks as SQL on the engine: a count, and a sample when something is unexpected."""
    results = []
    for check in checks:
        started = time.perf_counter()
        table = physical(check.relation)
        try:
            _, rows = engine.fetch(physical_query(_probe(check, _count(check)), physical, table))
            count = int(rows[0][0])
            total = None
            if count and check.kwargs.get("mostly") is not None:
                _, totals = engine.fetch(physical_query(_probe(check, _total(check)), physical, table))
                total = int(totals[0][0])
            sample = None
            if count:
                rows_query = _unexpected_rows(check)
                sample_query = exp.select("*").from_(rows_query.subquery("u")).limit(SAMPLE_SIZE)
                _, found = engine.fetch(physical_query(_probe(check, sample_query), physical, table))
                values = [r[0] if len(r) == 1 and check.expectation != UNEXPECTED_ROWS else list(r) for r in found]
                sample = json.dumps(values, default=str)
            results.append(CheckResult(check, "pass" if _passes(check, count, total) else "fail", count, sample,
                                       time.perf_counter() - started))
        except Exception as exc:  # a missing table or column: the check could not run
            message = first_line(exc, 300)
            results.append(CheckResult(check, "error", None, json.dumps([message]), time.perf_counter() - started))
    return results
