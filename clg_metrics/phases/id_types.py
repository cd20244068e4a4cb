"""Ids of one kind in a journey's events and customers sources, checked once they are staged.

A journey joins its events to its customers on the id (``COALESCE`` and ``FULL OUTER JOIN``): text
ids on one side and numbers on the other stop the build deep in a journey with the engine's
``Cannot mix values of type VARCHAR and BIGINT``, naming nothing of the user's. The column types
are known as soon as the seeds and ``sql/`` models are staged, so the mismatch is reported then,
before any journey runs, naming both sources, both types and the fix. A header-only seed has no
id type of its own (DuckDB infers VARCHAR from no rows): its staged twin is recreated with the
other source's id type, so an empty customers (or events) seed simply builds.
"""

from __future__ import annotations

from sqlglot import exp

from ..errors import Problem, SpecError
from .run import STAGED_PREFIX, BuildRun

_TEXT = ("char", "text", "string", "varchar")
_NUMBER = ("int", "decimal", "numeric", "double", "float", "real", "long", "short", "byte")


def family(type_name: str) -> str:
    """Types that compare with each other share a family: text, number, or the type itself."""
    name = type_name.lower()
    if any(t in name for t in _TEXT):
        return "text"
    if any(t in name for t in _NUMBER):
        return "number"
    return name.split("(")[0].strip()


def id_column_types(run: BuildRun, journey) -> list[str | None]:
    """The engine's type names of a journey's customer id columns: its events', then (if it has
    one) its customers source's; None where the engine does not know the relation or column."""
    sides = [journey.events] + ([journey.customers] if journey.customers is not None else [])
    return [_id_type(run.engine.column_types(run.physical(side.from_.lower())), side.columns.customer_id)
            for side in sides]


def is_integer(type_name: str | None) -> bool:
    """An integer type of any width (an id hashed as BIGINT is the same id in each)."""
    return type_name is not None and any(t in type_name.lower() for t in ("int", "long", "short", "byte"))


def _id_type(types: dict[str, str] | None, column: str) -> str | None:
    if not types:
        return None
    return types.get(column) or next((t for c, t in types.items() if c.lower() == column.lower()), None)


def check_id_types(run: BuildRun) -> None:
    """Every selected journey with a customers source: its two id columns are of one family."""
    ctx, engine = run.ctx, run.engine
    selected = ctx.selected_journeys()
    problems = []
    for loaded in ctx.project.journeys:
        journey = loaded.journey
        if journey.customers is None or (selected is not None and loaded.name not in selected):
            continue
        sides = [(key, getattr(journey, key).from_.lower(), getattr(journey, key).columns.customer_id)
                 for key in ("events", "customers")]
        types = [engine.column_types(run.physical(relation)) for _, relation, _ in sides]
        ids = [_id_type(t, column) for t, (_, _, column) in zip(types, sides)]
        if None in ids or family(ids[0]) == family(ids[1]):
            continue
        if any(_retype_empty_seed(run, relation, types[i], column, ids[1 - i])
               for i, (_, relation, column) in enumerate(sides)):
            continue
        (_, events, ev_col), (_, customers, cu_col) = sides
        line, column = loaded.source.locate(("customers", "from"))
        problems.append(Problem(
            loaded.source.path, line, column,
            f"journey `{journey.journey}` joins its events and customers on the id, and their types differ: "
            f"`{journey.events.from_}.{ev_col}` is {ids[0]} but `{journey.customers.from_}.{cu_col}` is {ids[1]}",
            "cast one to the other's type in a `sql/` model that the journey reads (e.g. `SELECT CAST("
            f"{cu_col} AS {ids[0]}) AS {cu_col}, ... FROM {journey.customers.from_}`), or fix the seed's ids"))
    if problems:
        raise SpecError(problems)


def _retype_empty_seed(run: BuildRun, relation: str, types: dict[str, str], column: str, wanted: str) -> bool:
    """Recreate an empty staged seed with ``column`` of type ``wanted``; whether it was done."""
    model = run.models.get(relation)
    if model is None or model.kind != "seed" or relation not in run.built:
        return False
    table = STAGED_PREFIX + relation
    if run.engine.row_count(table):
        return False
    try:
        typed = {name: exp.DataType.build(wanted if name == column or name.lower() == column.lower() else kind,
                                          dialect=run.engine.dialect) for name, kind in types.items()}
    except Exception:  # a type sqlglot cannot read back: report the mismatch instead
        return False
    empty = exp.select(*[exp.alias_(exp.cast(exp.null(), kind), name, quoted=True) for name, kind in typed.items()])
    run.engine.create_table_as(table, empty.where(exp.false()))
    return True
