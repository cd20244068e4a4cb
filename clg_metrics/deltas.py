"""Output deltas: an incremental build replaces some customers' rows of a per-customer output
table instead of the whole table (the plan and the staging are ``phases/deltas.py``).

A delta is the new rows of the touched customers (a staged table) and a condition saying which
published rows they replace: every row of the journeys rebuilt whole or no longer built, and the
rows of the touched customers (a staged table of ids per journey) of the others. The same two
statements — DELETE the replaced rows, INSERT the new ones — update the warehouse inside the
publish transaction and, on DuckDB, a copy of the serving file (``engines/duckdb_serving.py``);
before publishing, a staged view of the same condition shows the whole new table to the models
and checks that read it.

Also kept here: ``clg_output_state``, the as_of and the definition checksum each journey's rows
of each per-customer table were built with, which the next build's deltas start from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlglot import exp

from . import __version__
from .checks.results import T
from .compiler.outputs import BuiltJourney, OutputTable
from .compiler.sqlfns import col, is_not_null, rows_query
from .filters import literal

OUTPUT_STATE_TABLE = "clg_output_state"
OUTPUT_STATE_COLUMNS: tuple[tuple[str, T], ...] = (
    ("output", T.VARCHAR), ("journey", T.VARCHAR), ("as_of", T.TIMESTAMP), ("checksum", T.VARCHAR),
)
_CHECKSUM_AS_OF = datetime(2000, 1, 1)  # any fixed moment: the checksum is of the SQL, not of the as_of


@dataclass(frozen=True)
class TableDelta:
    """What one per-customer table's publish changes: ``replaced`` (a condition over its
    ``journey`` and ``customer_id`` columns) says which published rows go, ``rows`` (a staged
    table, schema-qualified) holds the rows that come in; ``staged`` is the view the build read
    the new table through, dropped when the delta is applied."""

    name: str
    columns: tuple[str, ...]
    rows: exp.Table
    replaced: exp.Expr
    staged: str
    scratch: tuple[str, ...] = field(default=())  # the staged tables behind it, dropped after serving

    def statements(self, target: exp.Table) -> list[exp.Expr]:
        """DELETE the replaced rows of ``target``, INSERT the new ones."""
        names = [exp.to_identifier(c, quoted=True) for c in self.columns]
        delete = exp.Delete(this=target.copy(), where=exp.Where(this=self.replaced.copy()))
        insert = exp.Insert(this=exp.Schema(this=target.copy(), expressions=names),
                            expression=exp.select(*[exp.column(c, quoted=True) for c in self.columns])
                            .from_(self.rows.copy()))
        return [delete, insert]

    def new_table(self, published: exp.Table) -> exp.Query:
        """The table as it is after the delta: the published rows not replaced, and the new ones."""
        columns = [exp.column(c, quoted=True) for c in self.columns]
        kept = exp.select(*columns).from_(published.copy()).where(exp.Not(this=exp.Paren(this=self.replaced.copy())))
        return exp.union(kept, exp.select(*[c.copy() for c in columns]).from_(self.rows.copy()), distinct=False)


def replaced_rows(covered: list[str], whole: list[str], touched: dict[str, exp.Table]) -> exp.Expr:
    """The published rows a delta replaces: those of journeys not ``covered`` any more, of
    journeys rebuilt ``whole``, and of the ``touched`` customers (a table of ids per journey)."""
    journey = col("journey")
    parts: list[exp.Expr] = [exp.Not(this=journey.isin(*[literal(j) for j in covered]))]
    if whole:
        parts.append(journey.copy().isin(*[literal(j) for j in whole]))
    for name, ids in touched.items():
        parts.append(exp.and_(exp.EQ(this=journey.copy(), expression=literal(name)),
                              col("customer_id").isin(query=exp.select(col("customer_id")).from_(ids.copy()))))
    return exp.or_(*parts)


def progress_changed(new: str, old: str, columns: list[str]) -> exp.Select:
    """The customers whose progress row differs between two progress tables (schema-qualified):
    a null-safe comparison of every column over a full outer join, so that customers who appear
    or leave count too."""
    differs = [exp.NullSafeNEQ(this=col(c, "n"), expression=col(c, "o")) for c in columns]
    return (exp.select(exp.alias_(exp.Coalesce(this=col("customer_id", "n"), expressions=[col("customer_id", "o")]),
                                  "customer_id", quoted=True))
            .from_(exp.alias_(exp.to_table(new), "n"))
            .join(exp.alias_(exp.to_table(old), "o"),
                  on=exp.EQ(this=col("customer_id", "n"), expression=col("customer_id", "o")), join_type="FULL OUTER")
            .where(exp.or_(*differs)))


def touched_query(parts: list[exp.Query]) -> exp.Query:
    """The distinct, non-NULL customer ids of the parts (UNION)."""
    query: exp.Query = parts[0]
    for part in parts[1:]:
        query = exp.union(query, part, distinct=True)
    return exp.select(col("customer_id")).from_(query.subquery("t")).where(is_not_null(col("customer_id"))).distinct()


def output_checksum(table: OutputTable, built: BuiltJourney) -> str:
    """The definition of one journey's rows of an output: its SQL (at a fixed as_of) and the
    tool's version, so that a changed journey, output module or release rebuilds them whole."""
    sql = table.build([built], _CHECKSUM_AS_OF).sql()
    return hashlib.sha256(f"{__version__}|{sql}".encode()).hexdigest()


@dataclass(frozen=True)
class OutputState:
    output: str
    journey: str
    as_of: datetime
    checksum: str


def output_state_query(states: list[OutputState], built: list[str], keep_from: str | None) -> exp.Query:
    """The new clg_output_state: the previous rows of outputs not built now, and this build's."""
    kept = None
    if keep_from is not None:
        kept = exp.select(*[exp.column(n, quoted=True) for n, _ in OUTPUT_STATE_COLUMNS]).from_(exp.to_table(keep_from))
        if built:
            kept = kept.where(exp.Not(this=exp.column("output", quoted=True).isin(*[literal(n) for n in built])))
    rows = [(s.output, s.journey, s.as_of, s.checksum) for s in states]
    return rows_query(OUTPUT_STATE_COLUMNS, rows, kept)
