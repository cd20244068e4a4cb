"""DuckDB, the embedded default engine: a file (or ``:memory:``) opened in this process."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from ..errors import BuildError, EngineError
from ..filters import literal
from ..profiles import DuckDBTarget
from .base import Engine


class DuckDBEngine(Engine):
    dialect = "duckdb"

    def __init__(self, target: DuckDBTarget, project_dir: Path, read_only: bool = False):
        self.schema = target.schema_
        path = target.path
        if path != ":memory:" and not path.startswith("md:"):
            file = Path(path) if Path(path).is_absolute() else project_dir / path
            if read_only and not file.exists():
                raise EngineError(f"{file}: no database yet; run `clg-metrics build` first")
            file.parent.mkdir(parents=True, exist_ok=True)
            path = str(file)
        self.path = path
        config: dict[str, Any] = {}
        if target.threads:
            config["threads"] = target.threads
        if target.memory_limit:
            config["memory_limit"] = target.memory_limit.replace(" ", "")
        for key, value in target.settings.items():
            config[key] = value
        try:
            self.con = duckdb.connect(path, read_only=read_only, config=config)
        except duckdb.IOException as exc:
            message = str(exc).splitlines()[0]
            if "lock" in message.lower():
                raise EngineError(f"{path} is in use by another process (is another build running?): {message}") \
                    from None
            raise EngineError(f"cannot open {path}: {message}") from None
        except duckdb.Error as exc:
            raise EngineError(f"cannot open {path}: {str(exc).splitlines()[0]}") from None
        # Timestamps are compared as UTC TIMESTAMP (SPEC): TIMESTAMPTZ inputs convert in UTC.
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")
        if self.schema != "main" and not read_only:
            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {exp.to_identifier(self.schema, quoted=True).sql('duckdb')}")

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def fetch(self, sql: str):
        cursor = self.con.execute(sql)
        names = [d[0] for d in cursor.description]
        return names, cursor.fetchall()

    def columns(self, relation: str) -> list[str] | None:
        parts = relation.split(".")
        schema, name = (parts[-2], parts[-1]) if len(parts) > 1 else (self.schema, parts[-1])
        query = exp.select("column_name").from_("information_schema.columns").where(
            exp.and_(exp.EQ(this=exp.column("table_schema"), expression=literal(schema)),
                     exp.EQ(this=exp.column("table_name"), expression=literal(name)))
        ).order_by("ordinal_position")
        rows = self.con.execute(query.sql("duckdb")).fetchall()
        return [r[0] for r in rows] or None

    def create_table_as(self, table: str, select_sql: str) -> int:
        self.con.execute(f"CREATE OR REPLACE TABLE {self.quote(table)} AS {select_sql}")
        return self.con.execute(f"SELECT count(*) FROM {self.quote(table)}").fetchone()[0]

    def create_view_as(self, view: str, select_sql: str) -> None:
        self._drop_any(view)
        self.con.execute(f"CREATE VIEW {self.quote(view)} AS {select_sql}")

    def load_csv(self, table: str, path: Path) -> int:
        reader = exp.func("read_csv", literal(str(path)), exp.EQ(this=exp.column("header"), expression=exp.true()))
        select = exp.select("*").from_(reader)
        return self.create_table_as(table, select.sql("duckdb"))

    def load_relation(self, table: str, relation) -> int:
        # Relations belong to their own connection: hand the rows over as an Arrow-free Parquet file.
        with tempfile.TemporaryDirectory(prefix="clg-load-") as tmp:
            file = Path(tmp) / "rows.parquet"
            relation.to_parquet(str(file))
            reader = exp.func("read_parquet", literal(str(file)))
            return self.create_table_as(table, exp.select("*").from_(reader).sql("duckdb"))

    def gx_batch(self, context, index: int, table: exp.Table):
        """GX's SQL path over duckdb-engine, on a cursor of our own connection (see checks/gx.py).

        A cursor per relation: one failing query aborts its cursor's transaction, and must not turn
        the other relations' checks into errors.
        """
        import duckdb_engine

        cursor = self.con.cursor()
        source = context.data_sources.add_sql(
            name=f"clg_metrics_{index}", connection_string="duckdb://",
            kwargs={"creator": lambda cursor=cursor: duckdb_engine.ConnectionWrapper(cursor)})
        asset = source.add_table_asset(name=f"r{index}", table_name=table.name, schema_name=table.db or None)
        return asset.add_batch_definition_whole_table("all").get_batch()

    def publish(self, renames: list[tuple[str, str]], views: list[tuple[str, str, str]] = ()) -> None:
        self.con.execute("BEGIN TRANSACTION")
        try:
            for staged, final in renames:
                self._drop_any(final)
                new_name = exp.to_identifier(final, quoted=True).sql("duckdb")
                self.con.execute(f"ALTER TABLE {self.quote(staged)} RENAME TO {new_name}")
            for staged, final, select_sql in views:
                self._drop_any(staged)
                self._drop_any(final)
                self.con.execute(f"CREATE VIEW {self.quote(final)} AS {select_sql}")
            self.con.execute("COMMIT")
        except duckdb.Error as exc:
            self.con.execute("ROLLBACK")
            raise BuildError(f"publishing the build failed, the previous outputs are kept: {exc}") from None

    def drop(self, relations: list[str]) -> None:
        for name in relations:
            self._drop_any(name)

    def _drop_any(self, name: str) -> None:
        """Drop a table or a view of that name (DuckDB refuses DROP TABLE on a view)."""
        query = exp.select("table_type").from_("information_schema.tables").where(
            exp.and_(exp.EQ(this=exp.column("table_schema"), expression=literal(self.schema)),
                     exp.EQ(this=exp.column("table_name"), expression=literal(name))))
        row = self.con.execute(query.sql("duckdb")).fetchone()
        if row is not None:
            kind = "VIEW" if row[0] == "VIEW" else "TABLE"
            self.con.execute(f"DROP {kind} IF EXISTS {self.quote(name)}")

    def tables(self) -> list[str]:
        query = exp.select("table_name").from_("information_schema.tables").where(
            exp.EQ(this=exp.column("table_schema"), expression=literal(self.schema))).order_by("table_name")
        return [r[0] for r in self.con.execute(query.sql("duckdb")).fetchall()]

    def close(self) -> None:
        self.con.close()
