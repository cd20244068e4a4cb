"""DuckDB, the embedded default engine: a file (or ``:memory:``) opened in this process."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from ..errors import BuildError, EngineError, first_line
from ..filters import literal
from ..profiles import DuckDBTarget
from .base import Engine, Served, csv_reader
from .duckdb_serving import BuildLock, lock_conflict, serving_path, write_serving


class DuckDBEngine(Engine):
    SUPPORTS_REPLACE_TABLE = True
    ERRORS = (duckdb.Error,)

    def __init__(self, target: DuckDBTarget, project_dir: Path, read_only: bool = False, warehouse: bool = False):
        """A build (``read_only=False``) opens the warehouse file under the build lock; a reader
        (``show``) opens the serving file, which holds the published outputs (duckdb_serving.py),
        unless it asks for the ``warehouse`` (``explain`` reads the events and ``clg_state``)."""
        self.target = target
        self.schema = target.schema_
        self.serving: Path | None = None
        self.served_by: str | None = None  # how the last serving file was made: copy | full
        self.lock: BuildLock | None = None
        path = target.path
        if path != ":memory:" and not path.startswith("md:"):
            file = Path(path) if Path(path).is_absolute() else project_dir / path
            self.serving = serving_path(file, target.serving_path, project_dir)
            if read_only and not warehouse and self.serving.exists():
                file = self.serving  # a warehouse built before serving files existed: read it
            elif read_only and not file.exists():
                raise EngineError(f"{file}: no database yet; run `clg-metrics build` first")
            file.parent.mkdir(parents=True, exist_ok=True)
            if not read_only:
                self.lock = BuildLock(file)
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
        except duckdb.Error as exc:
            self.close_lock()
            message = first_line(exc)
            if isinstance(exc, duckdb.IOException) and "lock" in message.lower():
                raise lock_conflict(path, message, self.serving, read_only) from None
            raise EngineError(f"cannot open {path}: {message}") from None
        # Timestamps are compared as UTC TIMESTAMP (SPEC): TIMESTAMPTZ inputs convert in UTC.
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")
        if self.schema != "main" and not read_only:
            self.execute(exp.Create(this=exp.Table(this=exp.to_identifier(self.schema, quoted=True)),
                                    kind="SCHEMA", exists=True))

    def _execute_sql(self, sql: str) -> None:
        self.con.execute(sql)

    def _fetch_sql(self, sql: str):
        cursor = self.con.execute(sql)
        names = [d[0] for d in cursor.description]
        return names, cursor.fetchall()

    def _catalog(self, view: str, column: str, schema: str, name: str | None = None) -> exp.Select:
        """``SELECT column FROM information_schema.<view>`` of a schema (and relation name)."""
        where = exp.EQ(this=exp.column("table_schema"), expression=literal(schema))
        if name is not None:
            where = exp.and_(where, exp.EQ(this=exp.column("table_name"), expression=literal(name)))
        return exp.select(column).from_(exp.table_(view, db="information_schema")).where(where)

    def columns(self, relation: str) -> list[str] | None:
        query = self._catalog("columns", "column_name", *self.split(relation)).order_by("ordinal_position")
        return [r[0] for r in self.fetch(query)[1]] or None

    def column_types(self, relation: str) -> dict[str, str] | None:
        query = self._catalog("columns", "column_name", *self.split(relation)).select("data_type")
        return {r[0]: r[1] for r in self.fetch(query.order_by("ordinal_position"))[1]} or None

    def tables(self) -> list[str]:
        return [r[0] for r in self.fetch(self._catalog("tables", "table_name", self.schema).order_by("table_name"))[1]]

    def _kind(self, name: str) -> str | None:
        rows = self.fetch(self._catalog("tables", "table_type", self.schema, name))[1]
        return None if not rows else "VIEW" if rows[0][0] == "VIEW" else "TABLE"

    def load_csv(self, table: str, path: Path) -> int:
        return self.create_table_as(table, exp.select("*").from_(csv_reader(path)))

    def load_relation(self, table: str, relation) -> int:
        # Relations belong to their own connection: hand the rows over as an Arrow-free Parquet file.
        with tempfile.TemporaryDirectory(prefix="clg-load-") as tmp:
            file = Path(tmp) / "rows.parquet"
            relation.to_parquet(str(file))
            reader = exp.func("read_parquet", literal(str(file)))
            return self.create_table_as(table, exp.select("*").from_(reader))

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

    def serve(self, tables: list[str], build_id: str, changes: Served | None = None) -> None:
        """Swap in a serving file holding ``tables`` (see duckdb_serving.py); a failure here leaves
        the readers on the previous build, whole."""
        if self.serving is None:
            return
        try:
            self.served_by = write_serving(self.con, self.schema, tables, self.serving, build_id, changes)
        except (duckdb.Error, OSError) as exc:
            raise BuildError(f"the build was published in {self.path}, but writing the serving file "
                             f"{self.serving} failed, so readers still see the previous build: "
                             f"{first_line(exc)}") from None

    def close_lock(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def close(self) -> None:
        self.con.close()
        self.close_lock()
