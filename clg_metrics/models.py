"""The project as one ordered DAG of models, and the only place SQL is rendered to a dialect.

Nodes are seeds (CSV files), user ``sql/`` models, per journey its leaf state tables and its
progress model, and the SPEC §3 outputs. Dependencies come from what each query reads (sqlglot finds the tables), so seeds,
sql models and journeys run in one topological order (``graphlib``, as SQLMesh does).
"""

from __future__ import annotations

import csv
import graphlib
import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Literal

from sqlglot import exp

from .compiler import OUTPUT_NAMES, OUTPUT_TABLES, EventSource, JourneyCompiler
from .compiler.journey import Incremental, LeafTables, Pass, progress_columns
from .compiler.leaves import leaves_model_name, periods_model_name
from .compiler.outputs import BuiltJourney
from .compiler.outputs.survey import missing_columns as missing_survey_columns
from .dialects import to_sql
from .errors import CompileError, did_you_mean
from .incremental import cutoff_for
from .loader import LoadedJourney, Project
from .sql_models import output_columns

Kind = Literal["seed", "sql", "leaves", "journey", "output"]  # leaves: a journey's leaf state (compiler/leaves.py)
PROGRESS_PREFIX = "progress__"
OUTPUTS = OUTPUT_NAMES


@dataclass(frozen=True)
class LeafDelta:
    """An incremental build's change to a leaf state or progress table: the touched customers' ids and their
    new rows (one query per pass), applied in place where publishing is one transaction
    (``phases/deltas.py``), so that the untouched customers' rows are not copied."""

    ids: tuple[exp.Query, ...]
    rows: tuple[exp.Query, ...]


@dataclass
class Model:
    """One table the build materializes."""

    name: str
    kind: Kind
    query: exp.Query | None = None  # None for seeds, which are loaded from a file
    depends_on: tuple[str, ...] = ()
    path: Path | None = None
    journey: str | None = None
    checksum: str | None = None  # of the definition, so orchestrators can tell what changed
    columns: list[str] | None = None
    mode: str | None = None  # journeys: "incremental" or why the build is full
    materialized: str = "table"  # sql/ models may be "view"
    source_dialect: str = "duckdb"  # what user SQL in the query (sql/ models, `where` strings) is written in
    # journeys built in passes by customer (phases/plan.py): one query per pass, whose rows together
    # are exactly ``query``'s; empty: one statement
    passes: tuple[exp.Query, ...] = ()
    merges: bool = False  # leaf state merging new events into the stored rows (compiler/leaves.py)
    delta: LeafDelta | None = None  # incremental leaf state and progress: the touched rows, to update in place

    def sql(self, dialect: str, rename: Callable[[str], str] | None = None, pretty: bool = True) -> str:
        """The model's SELECT for ``dialect``; ``rename`` maps project tables to the relation to read."""
        if self.query is None:
            return ""
        try:
            return render(self.query, dialect, rename, pretty, self.source_dialect)
        except CompileError as exc:
            raise self.located(exc) from None

    def tree(self, rename: Callable[[str], str] | None = None) -> exp.Query:
        """The model's SELECT as a tree (user SQL in it is in ``source_dialect``), renamed like ``sql``."""
        return renamed(self.query, rename)

    def pass_trees(self, rename: Callable[[str], str] | None = None) -> list[exp.Query]:
        """The queries to run, in order: one per pass, or the model's query alone."""
        return [renamed(q, rename) for q in self.passes] or [self.tree(rename)]

    def located(self, exc: CompileError) -> CompileError:
        """A compile error of this model, saying which model (and file) it is."""
        where = f"{self.path}: " if self.path else ""
        return CompileError(f"{where}model `{self.name}`: {exc}")


def render(query: exp.Expr, dialect: str, rename: Callable[[str], str] | None = None, pretty: bool = True,
           source_dialect: str = "duckdb") -> str:
    """Render a dialect-free query, pointing references to project tables at ``rename(name)``."""
    return to_sql(renamed(query, rename), dialect, pretty, source_dialect)


def renamed(query: exp.Expr, rename: Callable[[str], str] | None) -> exp.Expr:
    """``query`` with references to project tables pointed at ``rename(name)`` (a copy)."""
    if rename is not None:
        cte_names = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}

        def swap(node):
            # (a table function such as range(3) is a Table node too, but names no relation)
            if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier) and not node.db \
                    and node.name.lower() not in cte_names:
                target = rename(node.name.lower())
                if target is not None:
                    new = exp.to_table(target)
                    if node.alias:
                        new.set("alias", node.args["alias"].copy())
                    return new
            return node

        query = query.transform(swap, copy=True)
    return query


def progress_model_name(journey: str) -> str:
    return f"{PROGRESS_PREFIX}{journey}"


@dataclass
class Dag:
    models: dict[str, Model] = field(default_factory=dict)
    # compile_journey(name, incremental) with this DAG's settings, for the runner's incremental plan
    recompile: Callable[[str, Incremental | None], Model] | None = None
    covered: list[BuiltJourney] = field(default_factory=list)  # the journeys the outputs cover

    def checksum(self, name: str) -> str:
        """A model's checksum combined with those of the sql/ models it reads (not seeds: data)."""
        parts = [self.models[name].checksum or ""]
        parts += sorted(self.models[n].checksum or "" for n in self.upstream({name})
                        if n != name and self.models[n].kind == "sql")
        return _text_hash("|".join(parts))

    def ordered(self) -> list[Model]:
        sorter = graphlib.TopologicalSorter({n: set(m.depends_on) & set(self.models) for n, m in self.models.items()})
        try:
            names = list(sorter.static_order())
        except graphlib.CycleError as exc:  # e.g. a journey reading a sql/ model that reads an output
            cycle = exc.args[1]
            where = next((f"{self.models[n].path}: " for n in cycle if self.models[n].path), "")
            raise CompileError(f"{where}models read each other in a cycle: {' -> '.join(cycle)}",
                               ) from None
        return [self.models[n] for n in names]

    def downstream(self, names: set[str]) -> set[str]:
        """``names`` and every model that reads them, recursively."""
        seen = set(names) & set(self.models)
        changed = True
        while changed:
            changed = False
            for model in self.models.values():
                if model.name not in seen and seen.intersection(model.depends_on):
                    seen.add(model.name)
                    changed = True
        return seen

    def after_outputs(self) -> set[str]:
        """The sql/ models that read a journey's progress or an output (directly or not): they run
        after the journeys in the same build, never over the previous build's outputs."""
        roots = {n for n, m in self.models.items() if m.kind in ("journey", "output")}
        return {n for n in self.downstream(roots) if self.models[n].kind == "sql"}

    def upstream(self, names: set[str]) -> set[str]:
        """``names`` and everything they read, recursively."""
        seen: set[str] = set()
        stack = list(names)
        while stack:
            name = stack.pop()
            if name in seen or name not in self.models:
                continue
            seen.add(name)
            stack.extend(self.models[name].depends_on)
        return seen


def csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return next(csv.reader(f), [])


def build_dag(project: Project, as_of: datetime,
              warehouse_columns: Callable[[str], list[str] | None] | None = None,
              journeys: list[str] | None = None, extra_output_journeys: list[str] = ()) -> Dag:
    """Every model of the project, compiled for ``as_of``.

    ``journeys`` limits which journeys are compiled; the outputs also cover
    ``extra_output_journeys``, whose progress tables a previous build left in place.
    """
    dag = Dag()
    schemas: dict[str, list[str] | None] = {}
    for name, path in project.seeds.items():
        schemas[name] = csv_header(path)
        dag.models[name] = Model(name, "seed", path=path, checksum=_file_hash(path), columns=schemas[name])
    for table in OUTPUT_TABLES:  # sql/ models may read the outputs: they run after them (SPEC §3)
        schemas[table.name] = list(table.column_names)
    nodes = set(project.seeds) | set(project.sql_models) | set(OUTPUT_NAMES)
    sql_deps = {name: tuple(r for r in src.reads if r in nodes) for name, src in project.sql_models.items()}
    outputs = selected_outputs(project.config.outputs, [r for deps in sql_deps.values() for r in deps])
    try:
        order = list(graphlib.TopologicalSorter({n: set(d) for n, d in sql_deps.items()}).static_order())
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise CompileError(f"sql/ models read each other in a cycle: {cycle}") from None
    journey_nodes = set(project.seeds) | set(project.sql_models)
    for name in order:
        if name not in project.sql_models:
            continue
        src = project.sql_models[name]
        schemas[name] = output_columns(src.query, schemas)
        config = project.config.models.get(name)
        dag.models[name] = Model(name, "sql", query=src.query, depends_on=sql_deps[name], path=src.path,
                                 checksum=_text_hash(src.query.sql()), columns=schemas[name],
                                 materialized=config.materialized if config else "table")

    def columns_of(relation: str) -> list[str] | None:
        relation = relation.lower()
        if relation in schemas:
            return schemas[relation]
        return warehouse_columns(relation) if warehouse_columns else None

    selected = project.journeys if journeys is None else [j for j in project.journeys if j.name in journeys]
    with_segments = "segment_members" in outputs  # the only table that reads the segment state columns
    cutoff = cutoff_for(as_of, timedelta(hours=project.config.incremental.lookback_hours))
    for loaded in selected:
        for model in compile_journey(_progress_journey(loaded, with_segments), as_of, project.config.sql_dialect,
                                     columns_of, journey_nodes, cutoff=cutoff):
            dag.models[model.name] = model

    def recompile(name: str, incremental: Incremental | None, passes: int = 1, integer_ids: bool = False) -> list[Model]:
        """The journey's models (its leaf state, then its progress) compiled again for the plan."""
        models = compile_journey(_progress_journey(project.journey(name), with_segments), as_of,
                                 project.config.sql_dialect, columns_of, journey_nodes, incremental, passes,
                                 integer_ids, cutoff)
        for model in models:
            model.source_dialect = project.config.sql_dialect
        return models

    dag.recompile = recompile
    covered = selected + [j for j in project.journeys if j.name in extra_output_journeys and j not in selected]
    dialect = project.config.sql_dialect
    built = [BuiltJourney(j.journey, progress_model_name(j.name),
                          columns_of(j.journey.customers.from_) if j.journey.customers else None, dialect)
             for j in covered]
    dag.covered = built
    # outputs read the progress tables, and segment conditions the customers sources
    deps = tuple(progress_model_name(j.name) for j in selected) + tuple(dict.fromkeys(
        j.journey.customers.from_.lower() for j in covered if j.journey.customers and j.journey.segments
        and j.journey.customers.from_.lower() in nodes))
    for loaded in covered:
        check_survey(loaded, columns_of)
    for table in OUTPUT_TABLES:
        if table.name not in outputs:
            continue
        try:
            query = table.build(built, as_of)
        except CompileError as exc:
            raise CompileError(f"output `{table.name}`: {exc}") from None
        # the project relations the table reads itself (a journey's survey), as progress models list theirs
        sources = tuple(dict.fromkeys(r for j in covered for r in table.journey_reads(j.journey) if r in nodes))
        dag.models[table.name] = Model(table.name, "output", query, deps + table.reads + sources,
                                       columns=list(table.column_names))
    for model in dag.models.values():
        model.source_dialect = project.config.sql_dialect
    return dag


def selected_outputs(listed: list[str] | None, read_by_models: list[str]) -> set[str]:
    """The output tables to build: ``outputs:`` of clg_project.yml (None: all), plus every table a
    built one or a sql/ model reads, so that no model reads a table the build skipped."""
    by_name = {table.name: table for table in OUTPUT_TABLES}
    if listed is None:
        return set(by_name)
    chosen: set[str] = set()
    stack = list(listed) + [r for r in read_by_models if r in by_name]
    while stack:
        name = stack.pop()
        if name not in chosen:
            chosen.add(name)
            stack.extend(by_name[name].reads)
    return chosen


def _progress_journey(loaded: LoadedJourney, with_segments: bool) -> LoadedJourney:
    """Without ``segment_members`` in the build, the progress model need not carry segment state
    (the per-segment leaf counts): the journey compiled without its segments."""
    if with_segments or not loaded.journey.segments:
        return loaded
    return replace(loaded, journey=loaded.journey.model_copy(update={"segments": []}))


def compile_journey(loaded: LoadedJourney, as_of: datetime, sql_dialect: str,
                    columns_of: Callable[[str], list[str] | None], nodes: set[str],
                    incremental: Incremental | None = None, passes: int = 1, integer_ids: bool = False,
                    cutoff: datetime | None = None) -> list[Model]:
    """A journey's models, in build order: its leaf state tables (``compiler/leaves.py``), then its
    progress model, which reads them; with ``passes`` > 1 each also has its per-pass queries. A
    compile problem is reported at the journey's file."""
    journey = loaded.journey
    name = journey.journey
    periodic = [i for i, (_, m) in enumerate(journey.milestones, 1) if m.effective_per is not None]
    tables = LeafTables(leaves_model_name(name), {i: periods_model_name(name, i) for i in periodic})

    def queries(build: Callable[[JourneyCompiler], exp.Query]) -> tuple[exp.Query, tuple[exp.Query, ...], bool]:
        def compiler(part: Pass | None) -> JourneyCompiler:
            source = EventSource(journey.events.from_, journey.events.columns, columns_of(journey.events.from_))
            return JourneyCompiler(journey, source, as_of, sql_dialect, incremental, part, cutoff)

        parts = tuple(build(compiler(Pass(index, passes, integer_ids))) for index in range(passes)) if passes > 1 else ()
        whole = compiler(None)
        return build(whole), parts, whole.merge

    try:
        built = [(tables.leaves, "leaves", queries(lambda c: c.leaves_query(tables)))]
        built += [(tables.periods[i], "leaves", queries(lambda c, i=i: c.periods_query(i, tables))) for i in periodic]
        built.append((progress_model_name(name), "journey", queries(lambda c: c.compile(tables))))
        deltas = {}  # incremental: each leaf state table's touched rows, for an in-place update
        if incremental is not None:
            ids = queries(lambda c: c.touched_ids())
            deltas[tables.leaves] = (ids, queries(lambda c: c.leaves_query(tables, touched_only=True)))
            for i in periodic:
                deltas[tables.periods[i]] = (ids, queries(lambda c, i=i: c.periods_query(i, tables, touched_only=True)))
            deltas[progress_model_name(name)] = (ids, queries(lambda c: c.compile(tables, touched_only=True)))
    except CompileError as exc:
        line, column = loaded.source.locate(("events", "from"))
        raise CompileError(f"{loaded.source.path}:{line}:{column}: {exc}") from None
    reads = [journey.events.from_.lower()] + ([journey.customers.from_.lower()] if journey.customers else [])
    reads = tuple(r for r in reads if r in nodes)
    definition = json.dumps(journey.model_dump(mode="json", by_alias=True), sort_keys=True)
    models = []
    for model_name, kind, (query, parts, merges) in built:
        depends_on = reads + (tuple(m.name for m in models) if kind == "journey" else ())
        columns = progress_columns(journey) if kind == "journey" else list(query.named_selects)
        delta = None
        if model_name in deltas:
            (ids, id_parts, _), (rows, row_parts, _) = deltas[model_name]
            delta = LeafDelta(id_parts or (ids,), row_parts or (rows,))
        models.append(Model(model_name, kind, query, depends_on=depends_on, path=loaded.source.path, journey=name,
                            checksum=_text_hash(definition), columns=columns, passes=parts, merges=merges,
                            delta=delta))
    return models


def check_survey(loaded: LoadedJourney, columns_of: Callable[[str], list[str] | None]) -> None:
    """A survey source whose columns are known must have the mapped ones (reported at ``survey:``)."""
    survey = loaded.journey.survey
    if survey is None:
        return
    columns = columns_of(survey.from_)
    missing = missing_survey_columns(loaded.journey, columns)
    if missing:
        line, column = loaded.source.locate(("survey", "columns", missing[0][0]))  # else `survey:` itself
        hint = did_you_mean(missing[0][1], columns) or "map them with `survey: {columns: {...}}`"
        raise CompileError(f"{loaded.source.path}:{line}:{column}: survey source `{survey.from_}` has no column "
                           + ", ".join(f"`{c}`" for _, c in missing) + f" ({hint})")


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
