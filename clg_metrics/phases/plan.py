"""Plan: which models this build runs, and for each journey a full or an incremental build."""

from __future__ import annotations

from datetime import timedelta

from sqlglot import exp

from ..compiler.journey import Incremental, progress_columns
from ..compiler.sqlfns import col, timestamp
from ..context import Context
from ..dialects import merges_leaf_state
from ..engines import Engine
from ..incremental import STATE_COLUMNS, STATE_TABLE, JourneyState, cutoff_for, decide, fingerprints, occurred
from ..models import OUTPUTS, Dag, Model, progress_model_name
from .id_types import id_column_types, is_integer
from .run import BuildRun


def selected_models(ctx: Context, dag: Dag) -> list[Model]:
    """The models ``--select`` asks for (with everything upstream), in build order; the sql/ models
    that read the outputs are rebuilt with them, since the outputs change."""
    selected = ctx.selected_journeys()
    if selected is None:
        return dag.ordered()
    wanted = dag.upstream({progress_model_name(j) for j in selected} | set(OUTPUTS) | dag.after_outputs())
    return [m for m in dag.ordered() if m.name in wanted]


def has_current_progress(engine: Engine, journey, expected: list[str] | None = None) -> bool:
    """The journey's published progress table exists with exactly the columns its definition gives
    (``expected``: those of the model this build compiled, e.g. without segment state)."""
    return published_fits(engine, progress_model_name(journey.journey), expected or progress_columns(journey))


def published_fits(engine: Engine, name: str, columns: list[str]) -> bool:
    """The published table ``name`` exists with exactly these columns (in any order)."""
    published = engine.columns(name)
    return published is not None and set(published) == set(columns)


def reusable_progress_tables(ctx: Context, engine: Engine) -> set[str]:
    """Journeys not selected whose published progress table still fits their definition."""
    selected = ctx.selected_journeys()
    if selected is None:
        return set()
    return {j.name for j in ctx.project.journeys if j.name not in selected and has_current_progress(engine, j.journey)}


def previous_states(engine: Engine) -> dict[str, JourneyState]:
    """The last build's clg_state rows, by journey."""
    if STATE_TABLE not in engine.tables():
        return {}
    names = [n for n, _ in STATE_COLUMNS][:-1]
    query = exp.select(*[exp.column(n, quoted=True) for n in names]).from_(
        exp.table_(STATE_TABLE, db=engine.schema, quoted=True))
    _, rows = engine.fetch(query)
    return {r[0]: JourneyState(*r) for r in rows}


def estimated_customers(run: BuildRun, journey, model_name: str) -> int:
    """About how many customers a journey's progress query aggregates in a full build, from cheap
    queries: the larger of the previous progress table's rows and the customers source's, or
    (neither known) the distinct ids of the events."""
    engine = run.engine
    known = [engine.row_count(model_name)] if model_name in engine.tables() else []
    if journey.customers is not None:
        _, rows = engine.fetch(exp.select(exp.Count(this=exp.Star())).from_(
            exp.to_table(run.physical(journey.customers.from_.lower()))))
        known.append(int(rows[0][0]))
    if not known:
        events = exp.to_table(run.physical(journey.events.from_.lower()))
        _, rows = engine.fetch(exp.select(exp.func("approx_count_distinct", col(journey.events.columns.customer_id)))
                               .from_(events))
        known.append(int(rows[0][0] or 0))
    return max(known)


def touched_customers(run: BuildRun, journey, since) -> int:
    """About how many customers an incremental build merges new events for: the distinct ids of
    the events after ``since`` (the previous cutoff). Asked only when a full build would need more
    than one pass: the passes bound the per-customer aggregate over the new events (its top-n
    states are what DuckDB cannot spill), which only these customers have. At 100M events, 1% of
    them new, 2 passes instead of a full build's 9 made the incremental build 30% faster in the
    same memory (bench/README.md)."""
    events = exp.to_table(run.physical(journey.events.from_.lower()))
    newer = exp.GT(this=occurred(journey, None), expression=timestamp(since))
    _, rows = run.engine.fetch(exp.select(exp.func("approx_count_distinct", col(journey.events.columns.customer_id)))
                               .from_(events).where(newer))
    return int(rows[0][0] or 0)


def plan_journeys(run: BuildRun, dag: Dag, models: list[Model], full_refresh: bool) -> None:
    """Decide, per journey, between a full and an incremental build (see incremental.py); the
    journey models in ``models`` are replaced by their incremental compilation where chosen."""
    ctx, engine = run.ctx, run.engine
    config = ctx.project.config.incremental
    previous = previous_states(engine)
    cutoff = cutoff_for(ctx.as_of, timedelta(hours=config.lookback_hours))
    for model in [m for m in models if m.kind == "journey"]:
        journey = ctx.project.journey(model.journey).journey
        own = [m for m in models if m.journey == journey.journey and m.kind in ("leaves", "journey")]
        state = previous.get(journey.journey)
        cutoffs = [cutoff] + ([state.cutoff] if state else [])
        # the checks' scan of the events, if they ran, computed these already (checks/stateful.py)
        values = fingerprints(engine, journey, run.physical(journey.events.from_.lower()), cutoffs, run.fingerprints)
        fresh = (int(values[0]), str(values[1] or "0"))
        old = (int(values[2]), str(values[3] or "0")) if state else None
        checksum = dag.checksum(model.name)
        mode = decide(state, checksum, ctx.as_of, old, has_current_tables(engine, own),
                      full_refresh or not config.enabled, cutoff)
        incremental = Incremental(f"{engine.schema}.{model.name}", state.cutoff, merges_leaf_state(engine.dialect)) \
            if mode == "incremental" else None
        passes = engine.progress_passes(lambda: estimated_customers(run, journey, model.name))
        if incremental is not None and passes > 1:
            passes = engine.progress_passes(lambda: touched_customers(run, journey, state.cutoff))
        if incremental is not None or passes > 1:
            recompiled = {m.name: m for m in dag.recompile(journey.journey, incremental, passes,
                                                           passes > 1 and all(map(is_integer, id_column_types(run, journey))))}
            models[:] = [recompiled.get(m.name, m) for m in models]
        for m in models:
            if m.journey == journey.journey and m.kind in ("leaves", "journey"):
                said = f"{mode}: new events merged into the stored state" if m.merges else mode
                m.mode = said if passes == 1 else f"{said}, in {passes} passes by customer"
        run.states.append(JourneyState(journey.journey, checksum, ctx.as_of, cutoff, *fresh,
                                       "incremental" if mode == "incremental" else "full"))


def has_current_tables(engine: Engine, models: list[Model]) -> bool:
    """A journey's published leaf state and progress tables all exist with the columns its models
    give now (an incremental build reads and keeps their rows)."""
    return all(published_fits(engine, model.name, model.columns or []) for model in models)
