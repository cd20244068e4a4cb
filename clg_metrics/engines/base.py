"""The small interface every warehouse implements (SQLMesh calls it an engine adapter).

The compiler emits SELECTs only, as sqlglot trees; the engine renders them once for its dialect
(``dialects.to_sql``) and owns the DDL, built as trees too: CREATE ... AS, DROP, renames, row
counts. The publish loop (drop the old outputs, rename the staged twins, recreate the views) is
written once here. What differs between warehouses is a few class flags (does DDL run in
transactions, is there CREATE OR REPLACE TABLE, does DROP cascade) and a few overrides.

A statement may also be a string: the engine's own SQL, run verbatim by ``execute``/``fetch``
(catalog statements, tests); a SELECT given as a string to ``create_*``/``publish`` is parsed
in the engine's dialect.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Union

import sqlglot
from sqlglot import exp

from ..dialects import to_sql
from ..errors import BuildError, first_line

if TYPE_CHECKING:
    from ..deltas import TableDelta

Sql = Union[exp.Expr, str]
Rows = tuple[list[str], list[tuple[Any, ...]]]
VIEW_KINDS = ("VIEW", "MATERIALIZED VIEW")


def read_csv_relation(path: Path) -> Any:
    """A CSV file as a relation of a fresh in-memory DuckDB, with DuckDB's inferred types."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.sql(exp.select("*").from_(csv_reader(path)).sql("duckdb"))


def csv_reader(path: Path) -> exp.Expr:
    """DuckDB's ``read_csv('<path>', header = true)``."""
    return exp.func("read_csv", exp.Literal.string(str(path)),
                    exp.EQ(this=exp.column("header"), expression=exp.true()))


def duckdb_expression(tree: exp.Expr) -> Any:
    """A tree as an expression of a DuckDB relation (``relation.project(*expressions)``)."""
    import duckdb

    return duckdb.SQLExpression(tree.sql("duckdb"))


@dataclass(frozen=True)
class Served:
    """What a publish changed, for ``Engine.serve``: the build published before it (None: none),
    the tables it replaced whole, and the output deltas it applied (``deltas.TableDelta``); any
    other served table is as it was."""

    previous_build: str | None = None
    replaced: set[str] = field(default_factory=set)
    deltas: list[TableDelta] = field(default_factory=list)


class Engine(ABC):
    """A connection to one warehouse schema."""

    schema: str = "main"
    target: Any = None

    # -- what differs between warehouses ---------------------------------------------------------
    SUPPORTS_TRANSACTIONS = True  # DDL in BEGIN ... COMMIT: publishing is one transaction
    SUPPORTS_REPLACE_TABLE = False  # CREATE OR REPLACE TABLE ... AS (else DROP first)
    DROP_CASCADE = False  # DROP ... CASCADE: views are bound to tables, not to names
    RENAME_QUALIFIED = False  # RENAME TO takes schema.name, not a bare name
    ERRORS: tuple[type[BaseException], ...] = (Exception,)  # the driver's errors, for publish

    @property
    def dialect(self) -> str:
        from .registry import ENGINES

        return ENGINES[self.target.type].dialect

    # -- what each warehouse implements ----------------------------------------------------------

    @abstractmethod
    def _execute_sql(self, sql: str) -> int | None:
        """Run one statement; the row count its driver reports (CREATE TABLE AS), else None."""

    @abstractmethod
    def _fetch_sql(self, sql: str) -> Rows:
        """Run a query; its column names and rows."""

    @abstractmethod
    def _kind(self, name: str) -> str | None:
        """What the schema holds under ``name`` (TABLE, VIEW, MATERIALIZED VIEW ...), None if nothing."""

    @abstractmethod
    def columns(self, relation: str) -> list[str] | None:
        """The columns of a table or view (``name`` or ``schema.name``), None if it does not exist."""

    def column_types(self, relation: str) -> dict[str, str] | None:
        """Each column's type as the engine names it, None if the relation does not exist (or the
        engine cannot tell): what a join of two sources' ids needs before it runs."""
        return None

    @abstractmethod
    def tables(self) -> list[str]:
        """The tables and views of the engine's schema."""

    @abstractmethod
    def load_relation(self, table: str, relation: Any) -> int:
        """(Re)create ``table`` with the rows and column types of a DuckDB relation
        (``duckdb.DuckDBPyRelation`` of an in-memory connection); return its row count."""

    @abstractmethod
    def gx_batch(self, context: Any, index: int, table: exp.Table) -> Any:
        """A great-expectations Batch of the whole ``table`` (schema-qualified), from a data source
        named ``clg_metrics_{index}`` that this engine adds to the ephemeral GX ``context``."""

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT (ROLLBACK on an error) where DDL is transactional, else nothing."""
        if not self.SUPPORTS_TRANSACTIONS:
            yield
            return
        self._execute_sql("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self._execute_sql("ROLLBACK")
            raise
        self._execute_sql("COMMIT")

    # -- statements --------------------------------------------------------------------------------

    def render(self, statement: Sql, source_dialect: str | None = None) -> str:
        """A tree as this engine's SQL (user SQL in it written in ``source_dialect``); text as it is."""
        if isinstance(statement, str):
            return statement
        return to_sql(statement, self.dialect, source_dialect=source_dialect or "duckdb")

    def execute(self, statement: Sql, source_dialect: str | None = None) -> None:
        """Run one statement that returns nothing."""
        self._execute_sql(self.render(statement, source_dialect))

    def fetch(self, query: Sql, source_dialect: str | None = None) -> Rows:
        """Run a query and return its column names and rows."""
        return self._fetch_sql(self.render(query, source_dialect))

    def _query(self, select: Sql, source_dialect: str | None) -> tuple[exp.Expr, str | None]:
        """A SELECT as a tree, and the dialect its user SQL is in (a string is this engine's SQL)."""
        if isinstance(select, str):
            return sqlglot.parse_one(select, dialect=self.dialect), self.dialect
        return select, source_dialect

    # -- names ---------------------------------------------------------------------------------------

    def split(self, relation: str) -> tuple[str, str]:
        """``schema.name`` or ``name`` (in the engine's schema) as (schema, name)."""
        parts = relation.split(".")
        return (parts[-2], parts[-1]) if len(parts) > 1 else (self.schema, parts[-1])

    def table(self, name: str, schema: str | None = None) -> exp.Table:
        """A table of the engine's schema (or of ``schema``), quoted."""
        return exp.table_(name, db=schema or self.schema, quoted=True)

    def quote(self, name: str) -> str:
        """A table name of the engine's schema, quoted for its dialect."""
        return self.table(name).sql(self.dialect)

    # -- DDL, as trees -------------------------------------------------------------------------------

    def create_table_as(self, table: str, select: Sql, source_dialect: str | None = None) -> int:
        """(Re)create ``table`` in the engine's schema from a SELECT; return its row count.

        Where there is no CREATE OR REPLACE, the old relation is dropped in the same transaction:
        if the SELECT fails, the old table is still there.
        """
        query, source = self._query(select, source_dialect)
        create = exp.Create(this=self.table(table), kind="TABLE", expression=query,
                            replace=self.SUPPORTS_REPLACE_TABLE)
        with self.transaction():
            if not self.SUPPORTS_REPLACE_TABLE:
                self.drop_relation(table)
            count = self._execute_sql(self.render(create, source))
            return count if count is not None else self.row_count(table)

    def progress_passes(self, customers: Callable[[], int]) -> int:
        """In how many passes by customer to build a progress model for about ``customers()`` customers
        (a query, asked only by engines whose memory needs it).

        One: PostgreSQL and Spark spill their aggregates to disk, whatever their size.
        """
        return 1

    def insert_into(self, table: str, select: Sql, source_dialect: str | None = None) -> None:
        """Append a SELECT's rows to ``table`` (a staged table this build created)."""
        query, source = self._query(select, source_dialect)
        with self.transaction():
            self._execute_sql(self.render(exp.Insert(this=self.table(table), expression=query), source))

    def create_view_as(self, view: str, select: Sql, source_dialect: str | None = None) -> None:
        """(Re)create a view in the engine's schema."""
        with self.transaction():
            self._replace_view(view, select, source_dialect)

    def _replace_view(self, view: str, select: Sql, source_dialect: str | None = None) -> None:
        query, source = self._query(select, source_dialect)
        self.drop_relation(view)
        self.execute(exp.Create(this=self.table(view), kind="VIEW", expression=query), source)

    def row_count(self, table: str) -> int:
        _, rows = self.fetch(exp.select(exp.Count(this=exp.Star())).from_(self.table(table)))
        return rows[0][0]

    def load_csv(self, table: str, path: Path) -> int:
        """(Re)create ``table`` from a CSV file with a header row; return its row count.

        DuckDB reads the file on every engine, so a seed gets the same column types everywhere
        (BIGINT, DOUBLE, TIMESTAMP, VARCHAR ... as DuckDB's CSV sniffer infers them).
        """
        return self.load_relation(table, read_csv_relation(path))

    def drop(self, relations: list[str]) -> None:
        """Drop these tables or views if they exist; views first, so that a staged view over a
        staged table goes by itself and a leftover list in any order drops."""
        kinds = {name: kind for name in relations if (kind := self._kind(name)) is not None}
        for name in sorted(kinds, key=lambda n: kinds[n] not in VIEW_KINDS):
            self._drop(name, kinds[name])

    def drop_relation(self, name: str) -> None:
        """Drop whatever table or view holds ``name`` (DROP TABLE refuses a view, and vice versa)."""
        kind = self._kind(name)
        if kind is not None:
            self._drop(name, kind)

    def _drop(self, name: str, kind: str) -> None:
        materialized = kind == "MATERIALIZED VIEW"
        self.execute(exp.Drop(tables=[self.table(name)], kind="VIEW" if materialized else kind,
                              materialized=materialized, exists=True, cascade=self.DROP_CASCADE))

    def _rename(self, old: str, new: str, kind: str = "TABLE") -> None:
        target = self.table(new) if self.RENAME_QUALIFIED else exp.table_(new, quoted=True)
        alter = exp.rename_table(self.table(old), target)
        alter.set("kind", kind)
        self.execute(alter)

    # -- publishing ----------------------------------------------------------------------------------

    def publish(self, renames: list[tuple[str, str]], views: list[tuple[str, str, Sql]] = (),
                source_dialect: str | None = None, deltas: list[TableDelta] = ()) -> None:
        """In one transaction: apply each output delta to its published table (its staged view
        goes; DELETE the replaced rows, INSERT the new ones), replace each published table by its
        staged twin, and each (staged view, view, SELECT over published names) by a view of that
        SELECT."""
        try:
            with self.transaction():
                state = self._before_publish(renames, views)
                for delta in deltas:
                    self.drop_relation(delta.staged)
                    for statement in delta.statements(self.table(delta.name)):
                        self.execute(statement)
                for staged, final in renames:
                    self.drop_relation(final)
                    self._rename(staged, final)
                for staged, final, select in views:
                    self.drop_relation(staged)
                    self._replace_view(final, select, source_dialect)
                self._after_publish(state)
        except self.ERRORS as exc:  # the transaction has rolled back
            raise BuildError(f"publishing the build failed, the previous outputs are kept: "
                             f"{first_line(exc)}") from None

    def _before_publish(self, renames: list[tuple[str, str]], views: list) -> Any:
        """A hook inside the publish transaction, before anything changes."""

    def _after_publish(self, state: Any) -> None:
        """A hook inside the publish transaction, after the views; ``state`` is _before_publish's."""

    def serve(self, tables: list[str], build_id: str, changes: Served | None = None) -> None:
        """Make the just-published ``tables`` what readers (``show``, BI tools) see, all at once;
        ``changes`` says what the publish changed.

        Called after the publish transaction committed. On a server (PostgreSQL, Spark) readers
        query the schema itself and the transaction already switched them over: nothing to do.
        DuckDB writes a serving file beside the warehouse and swaps it in (engines/duckdb_serving.py).
        """

    # -- the rest ------------------------------------------------------------------------------------

    def lock_build(self) -> None:
        """Hold the warehouse's build lock for this connection, or raise EngineError when another
        build holds it. A build starts by dropping leftover staged twins, which must never be a
        running build's. A DuckDB file's own lock already gives this, so by default: nothing."""

    def close(self) -> None:  # pragma: no cover - trivial default
        """Release the connection."""
