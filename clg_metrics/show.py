"""``clg-metrics show``: the first rows of a published table, outputs in their natural order."""

from __future__ import annotations

from sqlglot import exp

from .compiler import OUTPUTS_BY_NAME
from .context import Context
from .engines import connect
from .errors import ClgError, did_you_mean, one_of
from .filters import literal, parse_sql_filter
from .phases.run import STAGED_PREFIX


def show(ctx: Context, table: str, limit: int, where: str | None = None) -> tuple[list[str], list[tuple]]:
    """The first rows of a published table (outputs sorted in their natural order), only those of
    the ``--select``ed journeys and matching ``where`` (one SQL condition over the table's columns)."""
    if ctx.settings.as_of is not None:
        raise ClgError("show prints the published tables as the last build left them; --as-of applies to "
                       "`build` (rebuild with --as-of, then show)")
    selected = ctx.selected_journeys()
    engine = connect(ctx.target, ctx.project.root, read_only=True)
    try:
        tables = engine.tables()
        if table not in tables:
            visible = [t for t in tables if not t.startswith(STAGED_PREFIX)]
            hint = did_you_mean(table, visible) or (one_of(visible) if visible else "run `clg-metrics build` first")
            raise ClgError(f"no table `{table}` in {ctx.target_name} ({hint})")
        order = list(OUTPUTS_BY_NAME[table].order_by) if table in OUTPUTS_BY_NAME else []
        query = exp.select("*").from_(exp.table_(table, db=engine.schema, quoted=True)).limit(limit)
        columns = engine.columns(table) or []
        if selected is not None:
            if "journey" not in columns:
                raise ClgError(f"--select: `{table}` has no `journey` column to select by")
            query = query.where(exp.column("journey").isin(*[literal(j) for j in selected]))
        if where:
            query = query.where(_where(where, columns, ctx.project.config.sql_dialect))
        if order:
            query = query.order_by(*order)
        return engine.fetch(query)
    finally:
        engine.close()


def _where(text: str, columns: list[str], dialect: str) -> exp.Expr:
    """``--where``: one checked SQL condition (as `where` strings in journeys are), over the table's columns."""
    try:
        tree = parse_sql_filter(text, dialect)
    except ValueError as exc:
        raise ClgError(f"--where: {str(exc).replace('`where`', 'the filter')}") from None
    known = {c.lower() for c in columns}
    for column in tree.find_all(exp.Column):
        if column.name.lower() not in known:
            hint = did_you_mean(column.name, columns) or one_of(columns)
            raise ClgError(f"--where: no column `{column.name}` ({hint})")
    return tree
