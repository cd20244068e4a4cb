"""Incremental outputs: stage only the touched customers' rows of the per-customer tables.

An incremental build changes few progress rows, yet rebuilding ``milestone_status`` (one row per
customer and milestone) and copying it to readers would cost as much as a full build. So where
the engine publishes in one transaction (DuckDB, PostgreSQL), each per-customer output
(``OutputTable.per_customer``) is planned per journey:

- **whole**: the journey's rows are rebuilt — its progress model was rebuilt in full, the rows'
  definition changed (``clg_output_state.checksum``: the output's SQL and the tool's version), no
  rows of it are known, or the table measures every row from ``as_of``
  (``PerCustomer.moves_with_as_of``) and as_of moved;
- **partial**: only the touched customers' rows are rebuilt. Touched are the customers whose
  progress row differs between the staged and the published progress table (a null-safe full
  outer join over all columns, so those who left count too), and those whose rows change
  although their progress row does not, as each table declares (``PerCustomer.changed``: at the
  previous rows' as_of and at this one), over one row per customer, never the events.

A table with no partial journey is built and published whole, by rename, as in a full build; so
is every output on an engine without transactional DDL (Spark), and every output of a
``--full-refresh``. The delta's rows are staged in ``__clg_delta__d__<table>``; the staged twin
``__clg_next__<table>`` is a view of the whole new table (published rows not replaced, plus the
new ones), which the models and checks after it read; publishing DELETEs the replaced rows and
INSERTs the new ones in the publish transaction (``deltas.TableDelta``). The output checks,
invariants per customer, read the new rows only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlglot import exp

from ..compiler.outputs import OUTPUTS_BY_NAME, BuiltJourney, OutputTable
from ..compiler.sqlfns import col
from ..deltas import (OUTPUT_STATE_COLUMNS, OUTPUT_STATE_TABLE, OutputState, TableDelta, output_checksum,
                      progress_changed, replaced_rows, touched_query)
from ..models import Dag, Model, progress_model_name, renamed
from .run import DELTA_PREFIX, STAGED_PREFIX, BuildRun, ModelResult


@dataclass
class DeltaPlan:
    """How one per-customer table is staged this build."""

    table: OutputTable
    types: dict[str, str]  # the published table's column types (as the engine names them)
    covered: list[str]  # the journeys with rows in the table after this build
    whole: list[str]  # ... whose rows are all rebuilt
    partial: dict[str, datetime] = field(default_factory=dict)  # ... whose touched rows are, by previous as_of


def previous_output_states(run: BuildRun) -> dict[tuple[str, str], OutputState]:
    engine = run.engine
    if OUTPUT_STATE_TABLE not in engine.tables():
        return {}
    query = exp.select(*[exp.column(n, quoted=True) for n, _ in OUTPUT_STATE_COLUMNS]).from_(
        engine.table(OUTPUT_STATE_TABLE))
    return {(r[0], r[1]): OutputState(*r) for r in engine.fetch(query)[1]}


def plan_outputs(run: BuildRun, dag: Dag, models: list[Model], full_refresh: bool) -> None:
    """Record this build's clg_output_state rows and, unless the build is a full one, plan which
    per-customer outputs are staged as deltas (``run.delta_plans``)."""
    engine, as_of = run.engine, run.ctx.as_of
    if not engine.SUPPORTS_TRANSACTIONS:
        return  # Spark: every output rebuilt and swapped in whole (never a half-written table)
    outputs = [m for m in models if m.kind == "output" and OUTPUTS_BY_NAME[m.name].per_customer is not None]
    checksums = {(m.name, b.journey.journey): output_checksum(OUTPUTS_BY_NAME[m.name], b)
                 for m in outputs for b in dag.covered}
    run.output_states = [OutputState(t, j, as_of, c) for (t, j), c in checksums.items()]
    run.outputs_built = [m.name for m in outputs]
    run.covered = list(dag.covered)
    if full_refresh:
        return
    previous = previous_output_states(run)
    rebuilt = {m.journey: m.mode for m in models if m.kind == "journey"}  # absent: the published progress is read
    for model in outputs:
        table = OUTPUTS_BY_NAME[model.name]
        types = engine.column_types(model.name)
        if types is None or list(types) != list(table.column_names):
            continue
        plan = DeltaPlan(table, types, [b.journey.journey for b in dag.covered], [])
        for journey in plan.covered:
            state = previous.get((model.name, journey))
            if (state is None or state.checksum != checksums[(model.name, journey)]
                    or rebuilt.get(journey, "incremental") != "incremental"
                    or (table.per_customer.moves_with_as_of and state.as_of != as_of)):
                plan.whole.append(journey)
            else:
                plan.partial[journey] = state.as_of
        if plan.partial:
            run.delta_plans[model.name] = plan


def _published(run: BuildRun, name: str) -> str:
    return f"{run.engine.schema}.{name}"


def _demote_mismatched_ids(run: BuildRun) -> None:
    """A journey whose customer ids have another type in the published table than in its progress
    table (DuckDB unites the journeys' id types, e.g. BIGINT and VARCHAR as VARCHAR; a table
    without rows of any journey has VARCHAR ids) is rebuilt whole there: comparing the ids would
    need casts of every row."""
    engine = run.engine
    ids = {j: (engine.column_types(run.physical(progress_model_name(j))) or {}).get("customer_id")
           for plan in run.delta_plans.values() for j in plan.partial}
    for name, plan in list(run.delta_plans.items()):
        for journey in [j for j in plan.partial if ids[j] != plan.types.get("customer_id")]:
            del plan.partial[journey]
            plan.whole.append(journey)
        if not plan.partial:
            del run.delta_plans[name]


def _stage_touched(run: BuildRun) -> None:
    """Per journey partial in some plan: the touched customers' ids, ``__clg_delta__t__<journey>``,
    and their new progress rows, ``__clg_delta__p__<journey>`` (once, before the first delta)."""
    run.touched = {}
    built = {b.journey.journey: b for b in run.covered}
    journeys = dict.fromkeys(j for plan in run.delta_plans.values() for j in plan.partial)
    for journey in journeys:
        progress = progress_model_name(journey)
        parts: list[exp.Query] = []
        if progress in run.built:  # rebuilt (incremental): compare with the published rows
            columns = run.models[progress].columns
            parts.append(progress_changed(run.physical(progress), _published(run, progress), columns))
        for name, plan in run.delta_plans.items():
            if journey in plan.partial:
                query = plan.table.per_customer.changed(built[journey], plan.partial[journey], run.ctx.as_of,
                                                        _published(run, name))
                if query is not None:
                    parts.append(query)
        if not parts:
            continue  # nothing of the journey changes
        ids, rows = DELTA_PREFIX + "t__" + journey, DELTA_PREFIX + "p__" + journey
        source = run.ctx.project.config.sql_dialect
        run.touched[journey] = run.engine.create_table_as(ids, renamed(touched_query(parts), run.physical), source)
        run.scratch.append(ids)
        member = exp.column("customer_id").isin(query=exp.select("customer_id").from_(run.engine.table(ids)))
        run.engine.create_table_as(rows, exp.select("*").from_(exp.to_table(run.physical(progress))).where(member))
        run.scratch.append(rows)


def stage_delta(run: BuildRun, model: Model) -> ModelResult | None:
    """Stage a planned output as a delta; None when it must be built whole after all (its
    columns' types would differ from the published table's)."""
    started = time.perf_counter()
    if run.touched is None:
        _demote_mismatched_ids(run)
        _stage_touched(run)
    plan = run.delta_plans.get(model.name)
    if plan is None:
        return None
    engine, schema = run.engine, run.engine.schema
    touched = {j: DELTA_PREFIX + "t__" + j for j in plan.partial if j in run.touched}
    sources = []
    for built in run.covered:
        journey = built.journey.journey
        if journey in plan.whole:
            sources.append(built)
        elif journey in touched:
            sources.append(built._replace(table=f"{schema}.{DELTA_PREFIX}p__{journey}"))
    rows = DELTA_PREFIX + "d__" + model.name
    query = renamed(plan.table.build(sources, run.ctx.as_of), run.physical) if sources else \
        exp.select("*").from_(engine.table(model.name)).where(exp.false())  # nothing changes: no rows, same types
    count = engine.create_table_as(rows, query, model.source_dialect)
    run.scratch.append(rows)
    if engine.column_types(rows) != plan.types:
        engine.drop([rows])
        run.scratch.remove(rows)
        return None
    delta = TableDelta(model.name, plan.table.column_names, engine.table(rows),
                       replaced_rows(plan.covered, plan.whole, {j: engine.table(t) for j, t in touched.items()}),
                       STAGED_PREFIX + model.name)
    engine.create_view_as(STAGED_PREFIX + model.name, delta.new_table(engine.table(model.name)))
    run.deltas[model.name] = delta
    customers = sum(run.touched.get(j, 0) for j in touched)
    message = f"delta: the rows of {customers} touched customers"
    if plan.whole:
        message += f"; whole: {', '.join(plan.whole)}"
    return ModelResult(model.name, model.kind, "success", time.perf_counter() - started, count, message)


def stage_leaf_delta(run: BuildRun, model: Model) -> ModelResult | None:
    """Stage an incremental build's leaf state or progress table (``Model.delta``) as a delta where publishing
    is one transaction: the touched customers' ids and new rows in scratch tables, the staged twin
    a view of the whole new table, the publish a DELETE and an INSERT; None to build it whole."""
    engine = run.engine
    if model.delta is None or not engine.SUPPORTS_TRANSACTIONS or model.name not in engine.tables():
        return None
    started = time.perf_counter()
    # the touched customers are the same for all of a journey's tables: found once per build
    ids, rows = DELTA_PREFIX + "a__" + model.journey, DELTA_PREFIX + "d__" + model.name
    for name, queries in ((ids, model.delta.ids), (rows, model.delta.rows)):
        if name in run.scratch:
            continue
        first, *rest = [renamed(q, run.physical) for q in queries]
        engine.create_table_as(name, first, model.source_dialect)
        run.scratch.append(name)
        for query in rest:  # one query per pass by customer
            engine.insert_into(name, query, source_dialect=model.source_dialect)
    if engine.column_types(rows) != engine.column_types(model.name):  # (e.g. an id type changed)
        engine.drop([rows])
        run.scratch.remove(rows)
        return None
    replaced = col("customer_id").isin(query=exp.select(col("customer_id")).from_(engine.table(ids)))
    delta = TableDelta(model.name, tuple(model.columns), engine.table(rows), replaced, STAGED_PREFIX + model.name)
    engine.create_view_as(STAGED_PREFIX + model.name, delta.new_table(engine.table(model.name)))
    run.deltas[model.name] = delta
    touched = engine.row_count(ids)
    return ModelResult(model.name, model.kind, "success", time.perf_counter() - started, engine.row_count(rows),
                       f"in place: the rows of {touched} touched customers")
