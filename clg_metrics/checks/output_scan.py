"""The invariants of ``milestone_status`` in one pass (``derive.MilestoneRows``): one GROUP BY
journey, customer instead of a GROUP BY of three columns, another of two and a self-join of the
table. What it proves is exactly what the three checks would find, so when it finds nothing they
pass with 0 unexpected rows, as they would; when it finds anything (or cannot run) each check runs
its own query, which gives great-expectations' count and a sample."""

from __future__ import annotations

import time

from sqlglot import exp

from ..compiler.sqlfns import col
from ..filters import literal
from .derive import CheckSpec, MilestoneRows
from .gx import CheckResult

MOST_MILESTONES = 62  # weights 2^0..2^(N-1) and their sum stay within a BIGINT


def _n(value: int) -> exp.Expr:
    return exp.Literal.number(value)


def _weights(journeys, key: str, values) -> exp.Expr:
    """SUM of the weight of each row's milestone (name or index) within its journey; 0 elsewhere."""
    ifs = [exp.If(this=exp.and_(exp.EQ(this=col("journey"), expression=literal(journey)),
                                exp.EQ(this=col(key), expression=literal(value))), true=_n(1 << i))
           for journey, names, _ in journeys for i, value in enumerate(values(names))]
    return exp.Sum(this=exp.Case(ifs=ifs, default=_n(0)))


def milestone_rows_query(shape: MilestoneRows, table: str) -> exp.Select | None:
    """(groups that are not each milestone once, decreasing reached_at pairs) over ``table``."""
    journeys = shape.journeys
    if not journeys or any(len(names) > MOST_MILESTONES for _, names, _ in journeys):
        return None
    inner = exp.select(col("journey"), exp.alias_(exp.Count(this=exp.Star()), "n"),
                       exp.alias_(_weights(journeys, "milestone", lambda names: names), "names"),
                       exp.alias_(_weights(journeys, "milestone_index", lambda names: range(1, len(names) + 1)),
                                  "indexes"))
    pairs = []
    for j, (journey, names, sequential) in enumerate(journeys):
        if not sequential:
            continue
        for k in range(1, len(names) + 1):
            moment = exp.Case(ifs=[exp.If(this=exp.and_(exp.EQ(this=col("journey"), expression=literal(journey)),
                                                        exp.EQ(this=col("milestone_index"), expression=_n(k))),
                                          true=col("reached_at"))])
            inner = inner.select(exp.alias_(exp.Max(this=moment), f"r{j}_{k}"))
            if k > 1:
                pairs.append(exp.Case(ifs=[exp.If(this=exp.LT(this=col(f"r{j}_{k}"), expression=col(f"r{j}_{k - 1}")),
                                                  true=_n(1))], default=_n(0)))
    inner = inner.from_(exp.to_table(table)).group_by(col("journey"), col("customer_id"))
    full = exp.Case(this=col("journey"), ifs=[exp.If(this=literal(journey), true=_n((1 << len(names)) - 1))
                                              for journey, names, _ in journeys])
    count = exp.Case(this=col("journey"), ifs=[exp.If(this=literal(journey), true=_n(len(names)))
                                               for journey, names, _ in journeys])
    whole = exp.and_(exp.EQ(this=col("n"), expression=count), exp.EQ(this=col("names"), expression=full),
                     exp.EQ(this=col("indexes"), expression=full.copy()))
    broken = exp.Sum(this=exp.Case(ifs=[exp.If(this=whole, true=_n(0))], default=_n(1)))
    decreasing = exp.Sum(this=_sum(pairs)) if pairs else _n(0)
    return exp.select(exp.Coalesce(this=broken, expressions=[_n(0)]),
                      exp.Coalesce(this=decreasing, expressions=[_n(0)])).from_(inner.subquery("g"))


def _sum(parts: list[exp.Expr]) -> exp.Expr:
    total = parts[0]
    for part in parts[1:]:
        total = exp.Add(this=total, expression=part)
    return total


def passed_milestone_rows(engine, checks: list[CheckSpec], physical) -> list[CheckResult]:
    """The results of the ``MilestoneRows`` checks of each relation where one pass shows they all
    hold; for the other relations none (the caller runs each of their checks)."""
    by_relation: dict[str, list[CheckSpec]] = {}
    for check in checks:
        if isinstance(check.fused, MilestoneRows):
            by_relation.setdefault(check.relation, []).append(check)
    results = []
    for relation, shaped in by_relation.items():
        started = time.perf_counter()
        query = milestone_rows_query(shaped[0].fused, physical(relation))
        if query is None:
            continue
        try:
            _, rows = engine.fetch(query)
        except Exception:
            continue
        if any(int(v or 0) for v in rows[0]):
            continue
        share = (time.perf_counter() - started) / len(shaped)
        results += [CheckResult(c, "pass", 0, None, share) for c in shaped]
    return results
