"""Apache Spark through pyspark: a local session (the default), a cluster master, or Spark Connect.

Why it looks the way it does:

- Timestamps are ``TIMESTAMP_NTZ`` and the session time zone is UTC. The compiled SQL compares
  timestamps without time zone, like DuckDB's TIMESTAMP; and NTZ values come back from
  ``collect()`` as the naive datetimes that were stored, where Spark's default TIMESTAMP (with local
  time zone) would be shifted into the Python process's zone.
- A local session keeps its catalog in an embedded Derby metastore inside the warehouse folder
  (``<warehouse_dir>/_clg_metastore``): the tables of ``build`` are still there for ``show`` in the
  next process, and deleting the folder resets tables and catalog together. Derby admits one
  process at a time; a second one gets an EngineError, as DuckDB's file lock gives.
- A session costs seconds to start (a JVM), so one already active in this process is reused (with
  the SQL settings above set on it) and ``close()`` leaves it running. Not in a ``newSession()``:
  great-expectations runs its queries in the process's default session, and finds the temporary
  view of the batch only if the batch's DataFrame belongs to that same session.
- The JVM's console output (banner, log4j warnings) goes to ``_clg_metastore/spark.log``, so the
  terminal shows clg-metrics' own messages only.
- Spark has no multi-statement transactions: see ``SparkEngine`` for what publishing guarantees.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from sqlglot import exp

from ..errors import BuildError, EngineError
from ..profiles import SparkTarget
from .base import Engine

# pyspark warns about pandas 3 when pyspark.sql.connect is imported (great-expectations does so at
# import); nothing of ours goes through pandas.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

STATE_DIR = "_clg_metastore"
# Backups of published tables while they are swapped. They share the runner's staged prefix, so the
# next build's cleanup of `__clg_next__*` leftovers removes one that a killed publish left behind.
BACKUP_PREFIX = "__clg_next___old_"
JAVA_HINT = "Spark needs Java 17+: install openjdk-17-jre-headless (or set JAVA_HOME)"
IN_USE = "{} is in use by another process (is another build running?): a local Spark metastore admits one"
URI = re.compile(r"^[a-z][a-z0-9+.-]*://")
# What pyspark.sql.connect needs beyond pyspark (module: pip package), as of pyspark 4.
CONNECT_PACKAGES = {"pandas": "pandas", "pyarrow": "pyarrow", "grpc": "grpcio",
                    "grpc_status": "grpcio-status", "google.rpc": "googleapis-common-protos",
                    "zstandard": "zstandard"}

# log4j2 for the driver JVM, given before it starts: without it Spark prints its banner and WARN
# lines (NativeCodeLoader, loopback address, Hive-incompatible types) before any setting applies.
LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
# Spark gives the root logger this one's level, announcing it on stderr unless both are the same.
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
"""

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

    dialect = "spark"

    def __init__(self, target: SparkTarget, project_dir: Path, read_only: bool = False):
        self.target = target
        self.schema = target.database
        self.read_only = read_only
        self.owned = False  # did this engine start the session (and so stops it in close())?
        self.jvm: Any = None  # the py4j gateway of a JVM this engine launched, ended by close()
        self.log: Path | None = None  # where that JVM's console output goes
        self.hive = True  # a persistent catalog; else tables are registered again from their files
        self.project_dir = Path(project_dir)
        self.warehouse = target.warehouse_dir if URI.match(target.warehouse_dir) else \
            str((self.project_dir / Path(target.warehouse_dir).expanduser()).resolve())
        self.spark: Any = None
        self.spark = self._session()
        self._open_database()

    # -- the session ---------------------------------------------------------------------------

    def _session(self) -> Any:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise EngineError("the Spark target needs pyspark: pip install 'clg-metrics[spark]'") from None
        _quiet_pyspark()
        active = SparkSession.getActiveSession()
        if active is not None:
            self._apply(active)
            self.hive = _conf(active, "spark.sql.catalogImplementation") != "in-memory"
            self.warehouse = _conf(active, "spark.sql.warehouse.dir") or self.warehouse
            return active
        return self._connect(SparkSession) if self.target.remote else self._start(SparkSession)

    def _sql_settings(self, local: bool = False) -> dict[str, str]:
        """Session settings our SQL relies on, then the profile's ``spark_conf`` on top."""
        settings = {"spark.sql.session.timeZone": "UTC", "spark.sql.timestampType": "TIMESTAMP_NTZ"}
        if local or self.target.threads:
            # Spark's default of 200 shuffle partitions is 200 tasks per join, for a few rows here.
            settings["spark.sql.shuffle.partitions"] = str(self.target.threads or 4)
        return settings | {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in
                           self.target.spark_conf.items()}

    def _apply(self, session: Any) -> None:
        """Our settings on a session we did not configure at its start (only those it lets change)."""
        for key, value in self._sql_settings().items():
            if session.conf.isModifiable(key):
                session.conf.set(key, value)

    def _connect(self, SparkSession) -> Any:
        import pyspark

        # Checked before pyspark.sql.connect is imported: its import-time check of the same
        # packages ends the process (sys.exit) when it believes it runs doctests (`python -c`).
        missing = ", ".join(pip for module, pip in CONNECT_PACKAGES.items() if not _importable(module))
        hint = f"pip install 'pyspark[connect]=={pyspark.__version__}'"
        if missing:
            raise EngineError(f"Spark Connect needs packages that are not installed ({missing}): {hint}")
        try:
            session = SparkSession.builder.remote(self.target.remote).getOrCreate()
            self._apply(session)
        except ImportError as exc:
            raise EngineError(f"Spark Connect needs other package versions ({_first_line(exc)}): {hint}") \
                from None
        except Exception as exc:
            raise EngineError(f"cannot reach Spark Connect at {self.target.remote}: {_first_line(exc)}") \
                from None
        self.owned = True
        return session

    def _start(self, SparkSession) -> Any:
        """A classic session in this process; for a local master, with a Derby metastore of its own."""
        from pyspark import SparkConf, SparkContext

        local = self.target.master.startswith("local")
        # Beside the tables; for a warehouse on another file system (s3a://...), under target/.
        base = self.project_dir / "target" if URI.match(self.warehouse) else Path(self.warehouse)
        state = base / STATE_DIR
        if self.read_only and local and not (state / "metastore_db").exists():
            raise EngineError(f"{self.warehouse}: no Spark warehouse yet; run `clg-metrics build` first")
        home = os.environ.get("JAVA_HOME")
        java = Path(home, "bin", "java") if home else shutil.which("java")
        if java is None or not Path(java).exists():
            raise EngineError(f"no Java found: {JAVA_HINT}")
        catalog = self.target.spark_conf.get("spark.sql.catalogImplementation")
        self.hive = _hive_jars_present() and catalog != "in-memory"
        launch = SparkContext._gateway is None  # else this process's JVM is still up (and keeps its options)
        if self.hive and local and launch:
            _check_not_in_use(state / "metastore_db", self.warehouse)
        state.mkdir(parents=True, exist_ok=True)
        (state / "log4j2.properties").write_text(LOG4J2)
        java_options = f"-Dlog4j2.configurationFile={(state / 'log4j2.properties').as_uri()} " \
                       f"-Dderby.system.home=\"{state}\""
        settings = {"spark.sql.warehouse.dir": self.warehouse, "spark.ui.enabled": "false",
                    "spark.ui.showConsoleProgress": "false"}
        if local:
            # Small data and a short-lived JVM: the optimizing JIT compiler (C2) and parallel GC
            # threads cost more CPU than they save (measured: twice the JVM's CPU time to start a
            # session). Adaptive query execution re-plans every query, for no gain on such data.
            java_options += " -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
            settings["spark.sql.adaptive.enabled"] = "false"
        if self.hive:
            settings["spark.sql.catalogImplementation"] = "hive"
            if local:  # a cluster brings its own metastore (hive-site.xml)
                settings["spark.hadoop.javax.jdo.option.ConnectionURL"] = \
                    f"jdbc:derby:;databaseName={state / 'metastore_db'};create=true"
        settings |= self._sql_settings(local)
        # The profile's own JVM options come after ours: the last of two same options wins.
        extra = "spark.driver.extraJavaOptions"
        settings[extra] = f"{java_options} {settings.get(extra, '')}".strip()
        conf = SparkConf().setMaster(self.target.master).setAppName(self.target.app_name)
        conf.setAll(settings.items())
        self.log = state / "spark.log"
        try:
            if launch:
                from pyspark.java_gateway import launch_gateway

                with open(self.log, "wb") as out:
                    self.jvm = launch_gateway(conf, popen_kwargs={"stdout": out, "stderr": out})
                SparkContext(conf=conf, gateway=self.jvm)
            session = SparkSession.builder.config(conf=conf).getOrCreate()
        except Exception as exc:
            self.close()
            raise EngineError(_start_failure(exc, self.log)) from None
        self.owned = True
        return session

    def _open_database(self) -> None:
        """Create the database (its first use also opens the metastore, where Derby's lock shows)."""
        try:
            exists = self.spark.catalog.databaseExists(self.schema)
            if not exists and not self.read_only:  # (IF NOT EXISTS alone makes Hive log an error)
                self.spark.sql(f"CREATE DATABASE IF NOT EXISTS {self._db()}")
                exists = True
        except Exception as exc:
            self.close()
            output = self.log.read_text(errors="replace") if self.log and self.log.exists() else ""
            if "XSDB6" in str(exc) + output:  # Derby: "Another instance may have booted the database"
                raise EngineError(IN_USE.format(self.warehouse)) from None
            raise EngineError(f"cannot open the Spark catalog: {_first_line(exc)}") from None
        if not exists:
            self.close()
            raise EngineError(f"no database `{self.schema}` in the Spark catalog yet: "
                              "run `clg-metrics build` first")
        if not self.hive:
            self._register_files()

    def close(self) -> None:
        """Stop the session if this engine started it, and the JVM if it launched that too.

        The JVM would end by itself once this process exits, but seconds later: until then its
        Derby lock keeps the next command (``build`` then ``show``) out of the metastore.
        """
        if self.owned and self.spark is not None:
            self.spark.stop()
            self.spark = None
        if self.jvm is not None:
            from pyspark import SparkContext

            gateway, self.jvm = self.jvm, None
            if SparkContext._active_spark_context is not None:  # a start that failed halfway
                SparkContext._active_spark_context.stop()
            gateway.shutdown()
            SparkContext._gateway = SparkContext._jvm = None  # a later session launches a new JVM
            if getattr(gateway, "proc", None) is not None:
                gateway.proc.stdin.close()  # the gateway's signal to exit
                try:
                    gateway.proc.wait(timeout=60)
                except Exception:
                    gateway.proc.kill()

    # -- statements ----------------------------------------------------------------------------

    def execute(self, sql: str) -> None:
        self.spark.sql(sql)  # Spark runs DDL and DML at once; a query would stay an unread plan

    def fetch(self, sql: str):
        frame = self.spark.sql(sql)
        return list(frame.columns), [tuple(row) for row in frame.collect()]

    def columns(self, relation: str) -> list[str] | None:
        parts = relation.split(".")
        db, name = (parts[-2], parts[-1]) if len(parts) > 1 else (self.schema, parts[-1])
        try:
            # Analysing the relation is cheaper than the catalog's listColumns (about 5x on Hive);
            # a view over a dropped table is then "not found", like the table it reads.
            return list(self.spark.table(_name(db, name)).columns) or None
        except Exception as exc:
            if any(s in str(exc) for s in ("TABLE_OR_VIEW_NOT_FOUND", "SCHEMA_NOT_FOUND")):
                return None
            raise

    def create_table_as(self, table: str, select_sql: str) -> int:
        self._drop_any(table)
        return self._write(self.spark.sql(select_sql), table)

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

    def create_view_as(self, view: str, select_sql: str) -> None:
        self._drop_any(view)
        self.spark.sql(f"CREATE VIEW {self.quote(view)} AS {select_sql}")

    def load_relation(self, table: str, relation: Any) -> int:
        """Through a Parquet file written by DuckDB, which Spark reads with the same column types
        (TIMESTAMP as TIMESTAMP_NTZ); the few types it cannot read are converted first."""
        relation = _spark_readable(relation)
        self._drop_any(table)
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
        frame = self.spark.table(_name(table.db or self.schema, table.name))
        batch_definition = asset.add_batch_definition_whole_dataframe("all")
        return batch_definition.get_batch(batch_parameters={"dataframe": frame})

    # -- publishing and the catalog ------------------------------------------------------------

    def publish(self, renames: list[tuple[str, str]], views: list[tuple[str, str, str]] = ()) -> None:
        kinds = self._kinds()
        undo: list[tuple] = []  # ("rename", from, to, kind) or ("view", name, previous SQL or None)
        backups: list[tuple[str, str]] = []
        try:
            for staged, final in renames:
                self._set_aside(final, kinds, undo, backups)
                self._rename(staged, final, "TABLE")
                undo.append(("rename", final, staged, "TABLE"))
            for staged, final, select_sql in views:
                if staged in kinds:
                    self._drop(staged, kinds[staged])
                previous = self._view_text(final) if kinds.get(final) == "VIEW" else None
                if kinds.get(final) == "TABLE":
                    self._set_aside(final, kinds, undo, backups)
                self.spark.sql(f"CREATE OR REPLACE VIEW {self.quote(final)} AS {select_sql}")
                undo.append(("view", final, previous))
        except Exception as exc:
            failed = self._undo(undo)
            kept = "the previous outputs are kept" if not failed else f"restoring them failed too ({failed})"
            raise BuildError(f"publishing the build failed, {kept}: {_first_line(exc)}") from None
        for backup, kind in backups:
            self._drop(backup, kind)

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
                    self.spark.sql(f"DROP VIEW IF EXISTS {self.quote(step[1])}")
                else:
                    self.spark.sql(f"CREATE OR REPLACE VIEW {self.quote(step[1])} AS {step[2]}")
            except Exception as exc:
                error = error or _first_line(exc)
        return error

    def _rename(self, old: str, new: str, kind: str) -> None:
        self.spark.sql(f"ALTER {kind} {self.quote(old)} RENAME TO {self.quote(new)}")
        if not self.hive:
            self._move_files(old, new)

    def _view_text(self, view: str) -> str | None:
        """A view's SQL as the catalog keeps it (to put it back if the publish fails)."""
        rows = self.spark.sql(f"DESCRIBE TABLE EXTENDED {self.quote(view)}").collect()
        return next((r[1] for r in rows if r[0] == "View Text"), None)

    def drop(self, relations: list[str]) -> None:
        kinds = self._kinds()
        for name in relations:
            if name in kinds:
                self._drop(name, kinds[name])

    def _drop_any(self, name: str) -> None:
        """Drop a table or a view of that name (Spark refuses DROP TABLE on a view, and vice versa)."""
        try:
            self._drop(name, "TABLE")
        except Exception as exc:
            if "WRONG_COMMAND_FOR_OBJECT_TYPE" not in str(exc):
                raise
            self._drop(name, "VIEW")

    def _drop(self, name: str, kind: str) -> None:
        self.spark.sql(f"DROP {kind} IF EXISTS {self.quote(name)}")
        if not self.hive and kind == "TABLE":
            shutil.rmtree(self._files(name), ignore_errors=True)

    def _kinds(self) -> dict[str, str]:
        """The tables and views of the database: name -> TABLE or VIEW (two catalog calls)."""
        views = {r[1] for r in self.spark.sql(f"SHOW VIEWS IN {self._db()}").collect() if not r[2]}
        return {name: "VIEW" if name in views else "TABLE" for name in self.tables()}

    def tables(self) -> list[str]:
        rows = self.spark.sql(f"SHOW TABLES IN {self._db()}").collect()
        return sorted(r[1] for r in rows if not r[2])  # (namespace, tableName, isTemporary)

    def _db(self) -> str:
        return exp.to_identifier(self.schema, quoted=True).sql("spark")

    # -- without Hive: tables found again from their files -------------------------------------

    def _files(self, name: str) -> Path:
        return Path(re.sub(r"^file:(//)?", "", self.warehouse)) / f"{self.schema}.db" / name

    def _register_files(self) -> None:
        """The in-memory catalog forgets everything at exit: register the table folders again.

        Used when Spark has no Hive classes (pip's pyspark has them; a custom SPARK_HOME may not)
        or the profile sets ``spark.sql.catalogImplementation: in-memory``. Views are not kept.
        """
        folder = self._files("_").parent
        known = set(self.tables())
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            if path.is_dir() and path.name not in known and any(path.glob("*.parquet")):
                location = exp.Literal.string(str(path)).sql("spark")
                self.spark.sql(f"CREATE TABLE {self.quote(path.name)} USING parquet LOCATION {location}")

    def _move_files(self, old: str, new: str) -> None:
        """After a rename, keep the folder named after the table (it is how it is found again)."""
        source, target = self._files(old), self._files(new)
        if source.is_dir() and not target.exists():
            source.rename(target)
            location = exp.Literal.string(str(target)).sql("spark")
            self.spark.sql(f"ALTER TABLE {self.quote(new)} SET LOCATION {location}")


def _check_not_in_use(metastore: Path, warehouse: str, wait: float = 3.0) -> None:
    """Fail at once if another process has the Derby metastore open.

    Derby holds an exclusive lock on ``dbex.lck`` while a database is booted; found only once
    Spark opens its catalog, it costs minutes of Hive retries and an unclear error. A JVM that is
    exiting may hold it a moment longer, hence the short wait.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: Spark's own error will say it
        return
    lock, deadline = metastore / "dbex.lck", time.monotonic() + wait
    while lock.exists():
        try:
            handle = open(lock, "rb+")
        except OSError:  # not ours to write: Spark's own error will say what is wrong
            return
        with handle:
            try:
                fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                if time.monotonic() > deadline:
                    raise EngineError(IN_USE.format(warehouse)) from None
            else:
                fcntl.lockf(handle, fcntl.LOCK_UN)
                return
        time.sleep(0.2)


def _quiet_pyspark() -> None:
    """Silence pyspark's own report of the errors we raise anyway.

    pyspark 4 logs every SQL error to stderr, as JSON with the JVM stack trace, before raising it;
    the runner reports the error itself. Those loggers are called with extra keyword arguments, so
    they must be PySparkLoggers: fetched through PySparkLogger, then raised above ERROR.
    """
    import logging

    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


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
    return relation.project(", ".join(i.sql("duckdb") for i in items)) if changed else relation


def _hive_jars_present() -> bool:
    """Whether this Spark has Hive support (pip's pyspark does; a custom SPARK_HOME may not)."""
    from pyspark.find_spark_home import _find_spark_home

    try:
        return any((Path(_find_spark_home()) / "jars").glob("spark-hive_*.jar"))
    except Exception:
        return False


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # its parent package is missing
        return False


def _name(db: str, name: str) -> str:
    return exp.table_(name, db=db, quoted=True).sql("spark")


def _conf(session: Any, key: str) -> str | None:
    try:
        return session.conf.get(key)
    except Exception:
        return None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:500] if text else type(exc).__name__


def _start_failure(exc: Exception, log: Path) -> str:
    """What to tell a user whose Spark did not start, from the error and the JVM's own output."""
    output = log.read_text(errors="replace") if log.exists() else ""
    if "UnsupportedClassVersionError" in output:
        return f"this Java is too old for Spark: {JAVA_HINT}"
    tail = "\n".join(output.splitlines()[-20:])
    if "JAVA_GATEWAY_EXITED" in str(exc):
        return f"the Spark JVM did not start ({JAVA_HINT}); its last output ({log}):\n{tail}"
    return f"Spark did not start: {_first_line(exc)}\n{tail}".rstrip()
