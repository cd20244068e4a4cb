"""Starting (and stopping) the pyspark session a SparkEngine works in.

- A local session keeps its catalog in an embedded Derby metastore inside the warehouse folder
  (``<warehouse_dir>/_clg_metastore``): the tables of ``build`` are still there for ``show`` in the
  next process, and deleting the folder resets tables and catalog together. Derby admits one
  process at a time; a second one gets an EngineError, as DuckDB's file lock gives.
- A session costs seconds to start (a JVM), so one already active in this process is reused (with
  the SQL settings set on it) and ``stop()`` leaves it running; a ``remote`` target refuses a
  classic one rather than build into it. Not in a ``newSession()``:
  great-expectations runs its queries in the process's default session, and finds the temporary
  view of the batch only if the batch's DataFrame belongs to that same session.
- The JVM's console output (banner, log4j warnings) goes to ``_clg_metastore/spark.log``, so the
  terminal shows clg-metrics' own messages only.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from ..errors import EngineError, first_line as _first_line
from ..profiles import SparkTarget

STATE_DIR = "_clg_metastore"
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


class Session:
    """The session of one SparkEngine: started here (or an active one reused), stopped by ``stop``."""

    def __init__(self, target: SparkTarget, project_dir: Path, read_only: bool = False):
        self.target = target
        self.read_only = read_only
        self.owned = False  # did this engine start the session (and so stops it in stop())?
        self.jvm: Any = None  # the py4j gateway of a JVM this engine launched, ended by stop()
        self.log: Path | None = None  # where that JVM's console output goes
        self.hive = True  # a persistent catalog; else tables are registered again from their files
        self.project_dir = Path(project_dir)
        self.warehouse = target.warehouse_dir if URI.match(target.warehouse_dir) else \
            str((self.project_dir / Path(target.warehouse_dir).expanduser()).resolve())
        self.spark: Any = None
        self.spark = self._begin()

    def _begin(self) -> Any:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise EngineError("the Spark target needs pyspark: pip install 'clg-metrics[spark]'") from None
        _quiet_pyspark()
        active = SparkSession.getActiveSession()
        if active is not None and self.target.remote and not _is_connect(active):
            # It would take the build meant for the server; and pyspark opens no Connect session
            # beside a classic one (SESSION_ALREADY_EXIST).
            raise EngineError(f"a classic Spark session already runs in this process: the target "
                              f"`remote: {self.target.remote}` needs a process of its own (or stop that session)")
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
            self.stop()
            raise EngineError(_start_failure(exc, self.log)) from None
        self.owned = True
        return session

    def stop(self) -> None:
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


def _is_connect(session: Any) -> bool:
    """A Spark Connect session (checked by class, without importing pyspark.sql.connect)."""
    return type(session).__module__.startswith("pyspark.sql.connect")


def _conf(session: Any, key: str) -> str | None:
    try:
        return session.conf.get(key)
    except Exception:
        return None


def _start_failure(exc: Exception, log: Path) -> str:
    """What to tell a user whose Spark did not start, from the error and the JVM's own output."""
    output = log.read_text(errors="replace") if log.exists() else ""
    if "UnsupportedClassVersionError" in output:
        return f"this Java is too old for Spark: {JAVA_HINT}"
    tail = "\n".join(output.splitlines()[-20:])
    if "JAVA_GATEWAY_EXITED" in str(exc):
        return f"the Spark JVM did not start ({JAVA_HINT}); its last output ({log}):\n{tail}"
    return f"Spark did not start: {_first_line(exc)}\n{tail}".rstrip()
