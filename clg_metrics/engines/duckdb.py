"""DuckDB, the embedded default engine: a file (or ``:memory:``) opened in this process."""

from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path
from typing import Any, Callable

import duckdb
from sqlglot import exp

from ..errors import BuildError, EngineError, first_line
from ..filters import literal
from ..profiles import DuckDBTarget
from .base import Engine, Served, csv_reader
from .duckdb_serving import BuildLock, lock_conflict, serving_path, write_serving


# DuckDB keeps a group's bounded top-n state (``min(x, n)``) in memory it cannot spill, so a progress
# model's hash aggregates need memory in proportion to the customers. Measured on the benchmark's
# SPEC §2 journey (7 milestones, 2 of them per period, 2 segments) over 100M events and 1M customers
# under memory_limit 1GB: 125k customers per pass fit, 250k did not (bench/README.md).
PROGRESS_BYTES_PER_CUSTOMER = 6_000
PROGRESS_MEMORY_SHARE = 0.75  # of memory_limit, for one pass's aggregates; the rest for scans and the output
MAX_PASSES = 64
_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
          "KI": 2**10, "MI": 2**20, "GI": 2**30, "TI": 2**40}


def memory_bytes(setting: str) -> float:
    """DuckDB's memory_limit setting (``953.6 MiB``, ``2GB``) in bytes; 0 if it does not parse."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]?I?)B?\s*", setting.upper())
    return float(match.group(1)) * _UNITS[match.group(2)] if match else 0.0


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

    def progress_passes(self, customers: Callable[[], int]) -> int:
        """Enough passes that one pass's customers fit in memory_limit (see ``PROGRESS_BYTES_PER_CUSTOMER``),
        or the profile's ``progress_passes``."""
        if self.target.progress_passes:
            return self.target.progress_passes
        _, rows = self.fetch(exp.select(exp.func("current_setting", literal("memory_limit"))))
        budget = memory_bytes(str(rows[0][0])) * PROGRESS_MEMORY_SHARE
        if not budget:
            return 1
        return max(1, min(MAX_PASSES, math.ceil(customers() * PROGRESS_BYTES_PER_CUSTOMER / budget)))

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
