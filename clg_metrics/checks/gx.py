"""Run checks with great-expectations on the engine's own connection.

GX 1.24 has no DuckDB engine; its SQL path over duckdb-engine (SQLAlchemy) works once DuckDB is
on GX's list of dialects whose connection is kept open (otherwise GX closes the connection
before fetching, and every expectation fails with "list index out of range"; see
shared/notes/great-expectations.md). That list is private, so great-expectations is pinned
exactly and ``tests/test_checks_gx.py`` fails if the workaround stops working.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from sqlglot import exp

from ..dialects import to_sql
from ..engines import Engine
from ..errors import first_line
from .derive import BATCH, UNEXPECTED_ROWS, CheckSpec

SAMPLE_SIZE = 5


@dataclass
class CheckResult:
    check: CheckSpec
    status: str  # pass | fail | error
    unexpected_count: int | None
    sample: str | None
    seconds: float
    hint: str | None = None  # what to change, for the terminal (e.g. a did-you-mean for an event name)


class _Dialect(str):
    """GX compares this list's entries by ``.value``."""

    @property
    def value(self) -> str:
        return str(self)


def _import_gx():
    # Before the import: GX logs ~200 INFO lines while importing.
    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # GX imports pyspark when it is installed, and pyspark warns about pandas versions on import:
    # noise on a build's console that says nothing about the user's data.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations as gx
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    kept = tuple(engine_module._PERSISTED_CONNECTION_DIALECTS)
    if "duckdb" not in [getattr(d, "value", d) for d in kept]:
        engine_module._PERSISTED_CONNECTION_DIALECTS = kept + (_Dialect("duckdb"),)
    return gx


def render_query(check: CheckSpec, dialect: str, physical: Callable[[str], str], batch: str | None) -> str:
    """The check's SQL with project relations replaced by physical tables.

    The batch becomes the table ``batch``, or with None stays GX's ``{batch}`` placeholder.
    """
    sql = to_sql(physical_query(check, physical, batch), dialect)
    return sql.replace(BATCH, "{batch}") if batch is None else sql


def physical_query(check: CheckSpec, physical: Callable[[str], str], batch: str | exp.Expr | None) -> exp.Query:
    """The check's query with project relations replaced by physical tables, the batch by ``batch``
    (a table name or table, or a query: then the rows it selects, e.g. only the new events)."""
    def swap(node):
        if isinstance(node, exp.Table) and node.name and node.name != BATCH:
            table = exp.to_table(physical(".".join(p for p in (node.db, node.name) if p).lower()))
        elif isinstance(node, exp.Table) and node.name == BATCH and isinstance(batch, exp.Query):
            return batch.subquery(node.alias or "clg_batch", copy=True)
        elif isinstance(node, exp.Table) and node.name == BATCH and batch is not None:
            table = exp.to_table(batch.copy() if isinstance(batch, exp.Table) else batch)
        else:
            return node
        if node.alias:
            table.set("alias", node.args["alias"].copy())
        return table

    return check.query.transform(swap, copy=True)


def run_checks(engine: Engine, checks: list[CheckSpec], physical: Callable[[str], str]) -> list[CheckResult]:
    """Run ``checks`` through GX; ``physical(relation)`` names the table each relation is read from."""
    if not checks:
        return []
    gx = _import_gx()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    results: list[CheckResult] = []
    by_relation: dict[str, list[CheckSpec]] = {}
    for check in checks:
        by_relation.setdefault(check.relation, []).append(check)
    for index, (relation, relation_checks) in enumerate(by_relation.items()):
        table = exp.to_table(physical(relation))
        started = time.perf_counter()
        try:
            batch = engine.gx_batch(context, index, table)
        except Exception as exc:  # the relation itself is missing or unreadable
            message = first_line(exc, 300)
            results += [CheckResult(c, "error", None, json.dumps([message]), 0.0) for c in relation_checks]
            continue
        # A suite per relation lets GX share metrics between its checks; results are matched back
        # by the ids the context gives the expectations.
        suite = context.suites.add(gx.ExpectationSuite(name=f"clg_{index}"))
        ids = {}
        for check in relation_checks:
            kwargs = dict(check.kwargs)
            if check.expectation == UNEXPECTED_ROWS:
                kwargs["unexpected_rows_query"] = render_query(check, engine.dialect, physical, None)
            expectation = suite.add_expectation(getattr(gx.expectations, check.expectation)(**kwargs))
            ids[expectation.id] = check
        outcome = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20})
        elapsed = (time.perf_counter() - started) / max(1, len(relation_checks))
        for result in outcome.results:
            check = ids[result.expectation_config.id]
            results.append(_result(check, result, elapsed, engine, physical, table))
    order = {id(c): i for i, c in enumerate(checks)}
    return sorted(results, key=lambda r: order[id(r.check)])


def _result(check: CheckSpec, result, seconds: float, engine: Engine, physical, table) -> CheckResult:
    info = result.exception_info or {}
    raised = info.get("raised_exception") if "raised_exception" in info else any(
        isinstance(v, dict) and v.get("raised_exception") for v in info.values())
    if raised:
        message = info.get("exception_message") or next(
            (v.get("exception_message") for v in info.values() if isinstance(v, dict) and v.get("exception_message")),
            "the check could not run")
        return CheckResult(check, "error", None, json.dumps([str(message).splitlines()[0][:300]]), seconds)
    data: dict[str, Any] = dict(result.result or {})
    status = "pass" if result.success else "fail"
    if check.expectation == UNEXPECTED_ROWS:
        count = int(data.get("observed_value") or 0)
        sample = None
        if count:
            query = physical_query(check, physical, table)
            _, rows = engine.fetch(exp.select("*").from_(query.subquery("u")).limit(SAMPLE_SIZE))
            sample = json.dumps([list(r) for r in rows], default=str)
        return CheckResult(check, status, count, sample, seconds)
    count = data.get("unexpected_count")
    values = data.get("partial_unexpected_list") or data.get("partial_missing_list")
    if values is None and not result.success and "observed_value" in data:
        values = [data["observed_value"]]
    if count is None and "missing_count" in data:
        count = data["missing_count"]
    sample = json.dumps(list(values)[:SAMPLE_SIZE], default=str) if values else None
    return CheckResult(check, status, int(count) if count is not None else None, sample, seconds)


