"""Apache Spark through pyspark: a local session (the default), a cluster master, or Spark Connect.

Why it looks the way it does:

- Timestamps are ``TIMESTAMP_NTZ`` and the session time zone is UTC. The compiled SQL compares
  timestamps without time zone, like DuckDB's TIMESTAMP; and NTZ values come back from
  ``collect()`` as the naive datetimes that were stored, where Spark's default TIMESTAMP (with local
  time zone) would be shifted into the Python process's zone.
- The session (JVM, Derby metastore, log4j, Java detection) is started by ``spark_session.py``.
- Spark has no multi-statement transactions: see ``SparkEngine`` for what publishing guarantees.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from ..errors import BuildError, EngineError, first_line
from ..profiles import SparkTarget
from .base import Engine, duckdb_expression
from .spark_session import IN_USE, Session

# pyspark warns about pandas 3 when pyspark.sql.connect is imported (great-expectations does so at
# import); nothing of ours goes through pandas.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

# Backups of published tables while they are swapped. They share the runner's staged prefix, so the
# next build's cleanup of `__clg_next__*` leftovers removes one that a killed publish left behind.
BACKUP_PREFIX = "__clg_next___old_"

# DuckDB types that Spark 4 cannot read from DuckDB's Parquet (UUID, TIME, nanosecond timestamps
# and INTERVAL are errors) or reads differently (HUGEINT as DOUBLE, TIMESTAMPTZ as a TIMESTAMP with
# local time zone), and what load_relation turns them into first. JSON arrives as a string as it is.
DUCKDB_CASTS = {"UUID": "VARCHAR", "TIME": "VARCHAR", "TIME WITH TIME ZONE": "VARCHAR", "INTERVAL": "VARCHAR",
                "TIMESTAMP_NS": "TIMESTAMP", "HUGEINT": "DECIMAL(38, 0)", "UHUGEINT": "DECIMAL(38, 0)"}


class SparkEngine(Engine):
    """One database of a Spark catalog.

    Publishing guarantees, since Spark cannot rename several tables in one transaction: every new
    table is completely written (as its staged twin) before any published name changes; then each
    published table is swapped in turn by two quick catalog renames (old -> backup, staged -> name)
    and the views are replaced (``CREATE OR REPLACE VIEW``); the backups are dropped at the end.
    A reader never sees a half-written table, but may see, for a moment, outputs of two different
    builds side by side (or, between the two renames of one swap, no table of that name). If a step
    fails, the steps done so far are undone in reverse (backups renamed back, replaced views given
    their previous SQL) and BuildError says the previous outputs are kept.
    """

    SUPPORTS_TRANSACTIONS = False
    RENAME_QUALIFIED = True

    def __init__(self, target: SparkTarget, project_dir: Path, read_only: bool = False, warehouse: bool = False):
        self.target = target
        self.schema = target.database
        self.read_only = read_only
        self.session = Session(target, project_dir, read_only)
        self.spark = self.session.spark
        self._open_database()

    @property
    def owned(self) -> bool:
        return self.session.owned

    def _open_database(self) -> None:
        """Create the database (its first use also opens the metastore, where Derby's lock shows)."""
        try:
            exists = self.spark.catalog.databaseExists(self.schema)
            if not exists and not self.read_only:  # (IF NOT EXISTS alone makes Hive log an error)
                self.execute(exp.Create(this=self._db(), kind="DATABASE", exists=True))
                exists = True
        except Exception as exc:
            self.close()
            log = self.session.log
            output = log.read_text(errors="replace") if log and log.exists() else ""
            if "XSDB6" in str(exc) + output:  # Derby: "Another instance may have booted the database"
                raise EngineError(IN_USE.format(self.session.warehouse)) from None
            raise EngineError(f"cannot open the Spark catalog: {first_line(exc, 500)}") from None
        if not exists:
            self.close()
            raise EngineError(f"no database `{self.schema}` in the Spark catalog yet: "
                              "run `clg-metrics build` first")
        if not self.session.hive:
            self._register_files()

    def close(self) -> None:
        self.session.stop()
        self.spark = self.session.spark

    # -- statements ----------------------------------------------------------------------------

    def _execute_sql(self, sql: str) -> None:
        self.spark.sql(sql)  # Spark runs DDL and DML at once; a query would stay an unread plan

    def _fetch_sql(self, sql: str):
        frame = self.spark.sql(sql)
        return list(frame.columns), [tuple(row) for row in frame.collect()]

    def columns(self, relation: str) -> list[str] | None:
        try:
            # Analysing the relation is cheaper than the catalog's listColumns (about 5x on Hive);
            # a view over a dropped table is then "not found", like the table it reads.
            db, name = self.split(relation)
            return list(self.spark.table(self.table(name, db).sql("spark")).columns) or None
        except Exception as exc:
            if any(s in str(exc) for s in ("TABLE_OR_VIEW_NOT_FOUND", "SCHEMA_NOT_FOUND")):
                return None
            raise

    def column_types(self, relation: str) -> dict[str, str] | None:
        if self.columns(relation) is None:
            return None
        db, name = self.split(relation)
        return {f.name: f.dataType.simpleString() for f in self.spark.table(self.table(name, db).sql("spark")).schema.fields}

    def create_table_as(self, table: str, select, source_dialect: str | None = None) -> int:
        query, source = self._query(select, source_dialect)
        self.drop_relation(table)
        return self._write(self.spark.sql(self.render(query, source)), table)

    def _write(self, frame: Any, table: str) -> int:
        """``CREATE TABLE ... USING <file_format> AS``, counting the rows as they are written.

        An Observation rides along with the write job: ``SELECT count(*)`` afterwards would be a
        second job, and cost about as much as a small CREATE TABLE itself.
        """
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        observation = Observation("clg_rows")
        frame = frame.observe(observation, F.count(F.lit(1)).alias("rows"))
        frame.write.format(self.target.file_format).saveAsTable(self.quote(table))
        return int(observation.get["rows"])

    def load_relation(self, table: str, relation: Any) -> int:
        """Through a Parquet file written by DuckDB, which Spark reads with the same column types
        (TIMESTAMP as TIMESTAMP_NTZ); the few types it cannot read are converted first."""
        relation = _spark_readable(relation)
        self.drop_relation(table)
        if self.target.remote or not self.target.master.startswith("local"):
            # Executors (or a Connect server) cannot read a file of this machine: ship the rows.
            return self._write(self.spark.createDataFrame(relation.to_arrow_table()), table)
        with tempfile.TemporaryDirectory(prefix="clg-load-") as tmp:
            file = Path(tmp) / "rows.parquet"
            relation.to_parquet(str(file))
            return self._write(self.spark.read.parquet(str(file)), table)  # written before the file goes

    def gx_batch(self, context, index: int, table: exp.Table):
        """A batch of the table's DataFrame: GX's Spark path (there is no SQL connection to share).

        ``persist=False``: GX would otherwise cache the DataFrame first, one more job per relation.
        """
        source = context.data_sources.add_spark(name=f"clg_metrics_{index}", persist=False)
        asset = source.add_dataframe_asset(name=f"r{index}")
        frame = self.spark.table(self.table(table.name, table.db or None).sql("spark"))
        batch_definition = asset.add_batch_definition_whole_dataframe("all")
        return batch_definition.get_batch(batch_parameters={"dataframe": frame})

    # -- publishing and the catalog ------------------------------------------------------------

    def publish(self, renames, views=(), source_dialect: str | None = None, deltas=()) -> None:
        """A swap with undo (no transactional DDL): never a half-written table. So no output
        deltas either (``phases/deltas.py`` plans none here): every output is swapped in whole."""
        if deltas:
            raise BuildError("Spark publishes whole tables only; no output delta can be applied")
        kinds = self._kinds()
        undo: list[tuple] = []  # ("rename", from, to, kind) or ("view", name, previous SQL or None)
        backups: list[tuple[str, str]] = []
        try:
            for staged, final in renames:
                self._set_aside(final, kinds, undo, backups)
                self._rename(staged, final, "TABLE")
                undo.append(("rename", final, staged, "TABLE"))
            for staged, final, select in views:
                if staged in kinds:
                    self._drop(staged, kinds[staged])
                previous = self._view_text(final) if kinds.get(final) == "VIEW" else None
                if kinds.get(final) == "TABLE":
                    self._set_aside(final, kinds, undo, backups)
                self._create_or_replace_view(final, *self._query(select, source_dialect))
                undo.append(("view", final, previous))
        except Exception as exc:
            failed = self._undo(undo)
            kept = "the previous outputs are kept" if not failed else f"restoring them failed too ({failed})"
            raise BuildError(f"publishing the build failed, {kept}: {first_line(exc, 500)}") from None
        for backup, kind in backups:
            self._drop(backup, kind)

    def _create_or_replace_view(self, view: str, query: exp.Expr, source_dialect: str | None) -> None:
        self.execute(exp.Create(this=self.table(view), kind="VIEW", replace=True, expression=query), source_dialect)

    def _set_aside(self, name: str, kinds: dict[str, str], undo: list, backups: list) -> None:
        """Rename a published relation, if there is one, to its backup name."""
        backup = BACKUP_PREFIX + name
        if backup in kinds:  # left behind by a killed publish
            self._drop(backup, kinds.pop(backup))
        if name in kinds:
            self._rename(name, backup, kinds[name])
            undo.append(("rename", backup, name, kinds[name]))
            backups.append((backup, kinds[name]))

    def _undo(self, steps: list[tuple]) -> str | None:
        """Reverse the steps of a failed publish; the first error of that, if any."""
        error = None
        for step in reversed(steps):
            try:
                if step[0] == "rename":
                    self._rename(*step[1:])
                elif step[2] is None:
                    self._drop(step[1], "VIEW")
                else:  # the catalog's text of the view, which we wrote in Spark SQL
                    self._create_or_replace_view(step[1], sqlglot.parse_one(step[2], dialect="spark"), "spark")
            except Exception as exc:
                error = error or first_line(exc, 500)
        return error

    def _rename(self, old: str, new: str, kind: str = "TABLE") -> None:
        super()._rename(old, new, kind)
        if not self.session.hive:
            self._move_files(old, new)

    def _view_text(self, view: str) -> str | None:
        """A view's SQL as the catalog keeps it (to put it back if the publish fails)."""
        rows = self.fetch(exp.Describe(this=self.table(view), style="EXTENDED"))[1]
        return next((r[1] for r in rows if r[0] == "View Text"), None)

    def drop(self, relations: list[str]) -> None:
        kinds = self._kinds()
        for name in relations:
            if name in kinds:
                self._drop(name, kinds[name])

    def drop_relation(self, name: str) -> None:
        """Drop a table or a view of that name: tried as a table first, which saves a catalog call
        (Spark refuses DROP TABLE on a view, and vice versa)."""
        try:
            self._drop(name, "TABLE")
        except Exception as exc:
            if "WRONG_COMMAND_FOR_OBJECT_TYPE" not in str(exc):
                raise
            self._drop(name, "VIEW")

    def _drop(self, name: str, kind: str) -> None:
        super()._drop(name, kind)
        if not self.session.hive and kind == "TABLE":
            shutil.rmtree(self._files(name), ignore_errors=True)

    def _kind(self, name: str) -> str | None:
        return self._kinds().get(name)

    def _kinds(self) -> dict[str, str]:
        """The tables and views of the database: name -> TABLE or VIEW (one catalog call)."""
        return {t.name: "VIEW" if t.tableType == "VIEW" else "TABLE"
                for t in self.spark.catalog.listTables(self.schema) if not t.isTemporary}

    def tables(self) -> list[str]:
        return sorted(self._kinds())

    def _db(self) -> exp.Table:
        return exp.Table(this=exp.to_identifier(self.schema, quoted=True))

    # -- without Hive: tables found again from their files -------------------------------------

    def _files(self, name: str) -> Path:
        return Path(re.sub(r"^file:(//)?", "", self.session.warehouse)) / f"{self.schema}.db" / name

    def _register_files(self) -> None:
        """The in-memory catalog forgets everything at exit: register the table folders again.

        Used when Spark has no Hive classes (pip's pyspark has them; a custom SPARK_HOME may not)
        or the profile sets ``spark.sql.catalogImplementation: in-memory``. Views are not kept.
        """
        folder = self._files("_").parent
        known = set(self.tables())
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            if path.is_dir() and path.name not in known and any(path.glob("*.parquet")):
                properties = exp.Properties(expressions=[exp.FileFormatProperty(this=exp.var("parquet")),
                                                         exp.LocationProperty(this=exp.Literal.string(str(path)))])
                self.execute(exp.Create(this=self.table(path.name), kind="TABLE", properties=properties))

    def _move_files(self, old: str, new: str) -> None:
        """After a rename, keep the folder named after the table (it is how it is found again)."""
        source, target = self._files(old), self._files(new)
        if source.is_dir() and not target.exists():
            source.rename(target)
            location = exp.AlterSet(location=exp.Literal.string(str(target)))
            self.execute(exp.Alter(this=self.table(new), kind="TABLE", actions=[location]))


def _spark_readable(relation: Any) -> Any:
    """The DuckDB relation with the columns of DUCKDB_CASTS converted (TIMESTAMPTZ to UTC TIMESTAMP)."""
    items, changed = [], False
    for name, dtype in zip(relation.columns, relation.types):
        column, kind = exp.column(exp.to_identifier(name, quoted=True)), str(dtype).upper()
        if kind == "TIMESTAMP WITH TIME ZONE":
            column, changed = exp.func("timezone", exp.Literal.string("UTC"), column), True
        elif kind in DUCKDB_CASTS:
            column, changed = exp.cast(column, DUCKDB_CASTS[kind]), True
        items.append(exp.alias_(column, name, quoted=True))
    return relation.project(*[duckdb_expression(i) for i in items]) if changed else relation
