"""``clg-metrics show``: the first rows of a published table, outputs in their natural order."""

from __future__ import annotations

from sqlglot import exp

from .compiler import OUTPUTS_BY_NAME
from .context import Context
from .engines import connect
from .errors import ClgError, did_you_mean, one_of
from .phases.run import STAGED_PREFIX


def show(ctx: Context, table: str, limit: int) -> tuple[list[str], list[tuple]]:
    """The first rows of a published table (outputs sorted in their natural order)."""
    engine = connect(ctx.target, ctx.project.root, read_only=True)
    try:
        tables = engine.tables()
        if table not in tables:
            visible = [t for t in tables if not t.startswith(STAGED_PREFIX)]
            hint = did_you_mean(table, visible) or (one_of(visible) if visible else "run `clg-metrics build` first")
            raise ClgError(f"no table `{table}` in {ctx.target_name} ({hint})")
        order = list(OUTPUTS_BY_NAME[table].order_by) if table in OUTPUTS_BY_NAME else []
        query = exp.select("*").from_(exp.table_(table, db=engine.schema, quoted=True)).limit(limit)
        if order:
            query = query.order_by(*order)
        return engine.fetch(query)
    finally:
        engine.close()
