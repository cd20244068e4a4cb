"""The small interface every warehouse implements (SQLMesh calls it an engine adapter).

The compiler emits SELECTs only; DDL, loading files and publishing belong to the engine, because
that is where warehouses differ (transactional DDL, renames, how CSV files are read).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from sqlglot import exp


def read_csv_relation(path: Path) -> Any:
    """A CSV file as a relation of a fresh in-memory DuckDB, with DuckDB's inferred types."""
    import duckdb

    from ..filters import literal

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    reader = exp.func("read_csv", literal(str(path)), exp.EQ(this=exp.column("header"), expression=exp.true()))
    return con.sql(exp.select("*").from_(reader).sql("duckdb"))


class Engine(ABC):
    """A connection to one warehouse schema."""

    dialect: str = "duckdb"
    schema: str = "main"

    @abstractmethod
    def execute(self, sql: str) -> None:
        """Run one statement that returns nothing."""

    @abstractmethod
    def fetch(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a query and return its column names and rows."""

    @abstractmethod
    def columns(self, relation: str) -> list[str] | None:
        """The columns of a table or view (``name`` or ``schema.name``), None if it does not exist."""

    @abstractmethod
    def create_table_as(self, table: str, select_sql: str) -> int:
        """(Re)create ``table`` in the engine's schema from a SELECT; return its row count."""

    @abstractmethod
    def create_view_as(self, view: str, select_sql: str) -> None:
        """(Re)create a view in the engine's schema."""

    def load_csv(self, table: str, path: Path) -> int:
        """(Re)create ``table`` from a CSV file with a header row; return its row count.

        DuckDB reads the file on every engine, so a seed gets the same column types everywhere
        (BIGINT, DOUBLE, TIMESTAMP, VARCHAR ... as DuckDB's CSV sniffer infers them).
        """
        return self.load_relation(table, read_csv_relation(path))

    @abstractmethod
    def load_relation(self, table: str, relation: Any) -> int:
        """(Re)create ``table`` with the rows and column types of a DuckDB relation
        (``duckdb.DuckDBPyRelation`` of an in-memory connection); return its row count."""

    @abstractmethod
    def gx_batch(self, context: Any, index: int, table: exp.Table) -> Any:
        """A great-expectations Batch of the whole ``table`` (schema-qualified), from a data source
        named ``clg_metrics_{index}`` that this engine adds to the ephemeral GX ``context``."""

    @abstractmethod
    def publish(self, renames: list[tuple[str, str]], views: list[tuple[str, str, str]] = ()) -> None:
        """In one transaction: replace each published table by its staged twin, and each
        (staged view, view, SELECT over published names) by a view of that SELECT."""

    @abstractmethod
    def drop(self, relations: list[str]) -> None:
        """Drop these tables or views if they exist."""

    @abstractmethod
    def tables(self) -> list[str]:
        """The tables and views of the engine's schema."""

    def lock_build(self) -> None:
        """Hold the warehouse's build lock for this connection, or raise EngineError when another
        build holds it. A build starts by dropping leftover staged twins, which must never be a
        running build's. A DuckDB file's own lock already gives this, so by default: nothing."""

    def close(self) -> None:  # pragma: no cover - trivial default
        """Release the connection."""

    def quote(self, name: str) -> str:
        """A table name of the engine's schema, quoted for its dialect."""
        return exp.table_(name, db=self.schema, quoted=True).sql(self.dialect)
