"""A Spark standalone cluster and a Spark Connect server on 127.0.0.1, as session fixtures.

The README promises ``master: spark://…`` and ``remote: sc://…`` targets; a local session tests
neither (no executors of another JVM, no client/server split). These fixtures start the real
daemons from pyspark's own ``bin/spark-class`` and ``bin/spark-submit`` (pip's pyspark carries
Spark's jars, the Connect server's included), so no Spark download is needed:

- ``spark_master_url``: a Master and one Worker (2 cores, 1g), ``spark://127.0.0.1:<port>``;
- ``spark_connect_url``: a SparkConnectServer on a local[2] master, with a warehouse and a Derby
  metastore of its own, ``sc://127.0.0.1:<port>``.

Each JVM costs 25-60 s to start on a small machine, so a fixture starts its daemons once per
session and only when a test asks for it; they are stopped (process group: the worker's executors
too) and their temporary folder removed at the session's end, also when a start failed halfway.
Outside the CI harness a missing Java skips the tests; under it (CLG_REQUIRE_ENGINES=1) a daemon
that does not start is a failure (``engines.unavailable``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from engines import unavailable

# A short-lived JVM over small data: the optimizing JIT (C2) and parallel GC threads cost more CPU
# than they save (the same options the engine gives a local session).
JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
START_TIMEOUT = 240.0  # seconds; a JVM start takes up to a minute on 2 busy cores
WORKER_CORES, WORKER_MEMORY, EXECUTOR_MEMORY = 2, "1g", "768m"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_home() -> Path:
    try:
        from pyspark.find_spark_home import _find_spark_home
    except ImportError:
        unavailable("Spark not available (pyspark is not installed)")
    return Path(_find_spark_home())


def java_home() -> str:
    """JAVA_HOME for the daemons: the environment's, else the one of `java` on PATH."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    if java is None:
        unavailable("Spark not available (no Java: install openjdk-17-jre-headless)")
    return str(Path(os.path.realpath(java)).parent.parent)


class Daemon:
    """One JVM started in a process group of its own, its output in ``log``."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path):
        self.name, self.log = name, log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_end_with_parent)

    def wait_ready(self, port: int, line: str | None = None, timeout: float = START_TIMEOUT) -> None:
        """Until ``port`` accepts connections and ``line`` (if given) is in the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.tail()}")
            if _accepts(port) and (line is None or line in self.log.read_text(errors="replace")):
                return
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """TERM to the whole group (a worker's executors are its children), KILL if it lingers."""
        if self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


def _end_with_parent() -> None:
    """In the child (Linux): SIGTERM when pytest dies without its teardown (killed, crashed).

    spark-class ``exec``s the JVM, which keeps the setting; a worker's shutdown hook then ends its
    executors. Elsewhere the session teardown is the only stop.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def daemon_env(root: Path) -> dict[str, str]:
    """What spark-class reads: where Spark and Java are, small daemons, 127.0.0.1 only."""
    (root / "conf").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARK_") and k != "PYSPARK_SUBMIT_ARGS"}
    return env | {"SPARK_HOME": str(spark_home()), "JAVA_HOME": java_home(), "SPARK_CONF_DIR": str(root / "conf"),
                  "SPARK_LOG_DIR": str(root / "logs"), "SPARK_LOCAL_IP": "127.0.0.1",
                  "SPARK_DAEMON_MEMORY": "512m", "SPARK_DAEMON_JAVA_OPTS": JVM_OPTIONS,
                  "SPARK_WORKER_DIR": str(root / "work")}


def start_standalone(stack: ExitStack, root: Path) -> str:
    """A Master and one Worker; returns the master URL once the worker has registered."""
    env, home = daemon_env(root), spark_home()
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    master = Daemon("Spark master", [str(home / "bin" / "spark-class"), "org.apache.spark.deploy.master.Master",
                                     "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(free_port())],
                    env, root / "master.log")
    stack.callback(master.stop)
    worker = Daemon("Spark worker", [str(home / "bin" / "spark-class"), "org.apache.spark.deploy.worker.Worker",
                                     url, "--host", "127.0.0.1", "--cores", str(WORKER_CORES),
                                     "--memory", WORKER_MEMORY, "--webui-port", str(free_port()),
                                     "--work-dir", str(root / "work")],
                    env, root / "worker.log")
    stack.callback(worker.stop)
    master.wait_ready(port, "I have been elected leader")
    worker.wait_ready(port, "Successfully registered with master")
    return url


def start_connect_server(stack: ExitStack, root: Path) -> str:
    """A SparkConnectServer (local[2]) with its own warehouse and Derby metastore under ``root``."""
    env, home = daemon_env(root), spark_home()
    port = free_port()
    conf = {"spark.connect.grpc.binding.address": "127.0.0.1", "spark.connect.grpc.binding.port": port,
            "spark.sql.warehouse.dir": root / "warehouse", "spark.sql.catalogImplementation": "hive",
            "spark.hadoop.javax.jdo.option.ConnectionURL":
                f"jdbc:derby:;databaseName={root / 'metastore_db'};create=true",
            "spark.ui.enabled": "false", "spark.sql.shuffle.partitions": 2, "spark.default.parallelism": 2,
            "spark.sql.adaptive.enabled": "false"}
    argv = [str(home / "bin" / "spark-submit"), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
            "--name", "clg-test-connect", "--master", "local[2]", "--driver-memory", "1g",
            "--driver-java-options", f"{JVM_OPTIONS} -Dderby.system.home={root}"]
    for key, value in conf.items():
        argv += ["--conf", f"{key}={value}"]
    server = Daemon("Spark Connect server", argv, env, root / "connect.log")
    stack.callback(server.stop)
    server.wait_ready(port)
    return f"sc://127.0.0.1:{port}"


def _session_daemons(start, prefix: str):
    """Run ``start`` in a temporary folder; yield its URL; stop everything and remove the folder."""
    java_home()  # skips (or fails under the harness) before anything starts
    with ExitStack() as stack:
        # Under .ci/with-servers in its scratch folder, which it removes even if pytest is killed.
        root = Path(tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("CLG_TEST_SPARK_WAREHOUSE")))
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        try:
            url = start(stack, root)
        except RuntimeError as exc:
            unavailable(str(exc))
        yield url


@pytest.fixture(scope="session")
def spark_master_url():
    """``spark://127.0.0.1:<port>`` of a standalone master with one worker, for the session."""
    yield from _session_daemons(start_standalone, "clg-spark-cluster-")


@pytest.fixture(scope="session")
def spark_connect_url():
    """``sc://127.0.0.1:<port>`` of a Spark Connect server, for the session."""
    yield from _session_daemons(start_connect_server, "clg-spark-connect-")
