"""The demo build and a slice of the semantic suite on a Spark standalone cluster and through Spark
Connect, equal to DuckDB's rows: the two ways the README offers to outgrow one machine.

The daemons come from ``spark_cluster.py`` (started once per session, when first needed); every
client runs in a subprocess (``spark_client.py`` says why), as a user's commands would.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import REPO_ROOT
from engines import OUTPUTS, normalized, profile_yaml, unavailable
from spark_cluster import JVM_OPTIONS, spark_connect_url, spark_master_url  # noqa: F401 (fixtures)

from clg_metrics.engines.spark_session import CONNECT_PACKAGES, _importable
from clg_metrics.profiles import SparkTarget

pytestmark = pytest.mark.spark_cluster  # minutes of JVM time: `-m 'not spark_cluster'` leaves them out
MODES = ("cluster", "connect")
CLIENT = Path(__file__).with_name("spark_client.py")
CLIENT_TIMEOUT = 600  # seconds: a hung client fails the test instead of the whole run
# One case per kind of counting the compiled SQL does: the n-th event so far, distinct values, and
# per-period counts in a streak (weeks from Monday).
SEMANTIC_CASES = ("test_event_leaf_nth_matching_event", "test_distinct_counts_first_appearance_of_values",
                  "test_per_week_streak_weeks_start_monday")


def cluster_target(mode: str, request, database: str, warehouse: Path) -> SparkTarget:
    """A target of the session's master (executors on the worker) or Connect server."""
    if mode == "connect":
        missing = [pip for module, pip in CONNECT_PACKAGES.items() if not _importable(module)]
        if missing:
            unavailable(f"Spark Connect's client packages are missing ({', '.join(missing)}): "
                        "pip install -e '.[test]'")
        return SparkTarget(type="spark", remote=request.getfixturevalue("spark_connect_url"), database=database)
    conf = {"spark.executor.memory": "768m", "spark.executor.extraJavaOptions": JVM_OPTIONS,
            "spark.driver.extraJavaOptions": JVM_OPTIONS, "spark.sql.shuffle.partitions": 2,
            "spark.default.parallelism": 2, "spark.sql.adaptive.enabled": False}  # (re-plans every query)
    return SparkTarget(type="spark", master=request.getfixturevalue("spark_master_url"), database=database,
                       warehouse_dir=str(warehouse), spark_conf=conf)


def clients(commands: dict[str, list[str]], cwd: dict[str, Path]) -> None:
    """Run one spark_client.py command per mode, all at once; the test fails with any one's output.

    At once because a Spark build keeps about one core busy (the client and the JVM take turns):
    two side by side take little longer than one.
    """
    path = os.pathsep.join([str(REPO_ROOT), str(CLIENT.parent), os.environ.get("PYTHONPATH", "")])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_"))} | {"PYTHONPATH": path}
    logs = {mode: cwd[mode] / f"{args[0]}.log" for mode, args in commands.items()}  # (a full pipe would block)
    running = {}
    try:
        for mode, args in commands.items():
            with open(logs[mode], "wb") as log:
                running[mode] = subprocess.Popen([sys.executable, str(CLIENT), *args], cwd=cwd[mode], env=env,
                                                 stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        for proc in running.values():
            proc.wait(timeout=CLIENT_TIMEOUT)
    finally:
        for proc in running.values():
            if proc.poll() is None:  # timed out, or another one's wait was interrupted
                proc.kill()
                proc.wait()
    for mode, proc in running.items():
        output = logs[mode].read_text(errors="replace")
        head = f"{mode}: {' '.join(commands[mode][:2])} exited {proc.returncode}"
        assert proc.returncode == 0 and "Traceback" not in output, f"{head}:\n{output[-4000:]}"


@pytest.fixture(scope="module")
def built(request, demo, tmp_path_factory) -> dict[str, SimpleNamespace | str]:
    """Per mode: the demo built by the CLI in one process, then read (``spark_client.py read``) in
    another, so the catalog must keep the tables between them; or why the mode is skipped."""
    targets, roots, skipped = {}, {}, {}
    for mode in MODES:
        roots[mode] = tmp_path_factory.mktemp(mode)
        try:
            targets[mode] = cluster_target(mode, request, f"clg_{mode}_{uuid.uuid4().hex[:8]}",
                                           roots[mode] / "warehouse")
        except pytest.skip.Exception as exc:  # (under the harness, unavailable fails instead)
            skipped[mode] = str(exc)
    for mode, target in targets.items():
        project = roots[mode] / "demo"
        shutil.copytree(demo, project, ignore=shutil.ignore_patterns("target", "profiles.yml"))
        (project / "profiles.yml").write_text(profile_yaml(target))
    clients({mode: ["cli", "build", "--target", "wh", "--project-dir", str(roots[mode] / "demo")]
             for mode in targets}, roots)
    clients({mode: ["read", target.model_dump_json(), str(roots[mode] / "demo"), str(roots[mode] / "read.pickle"),
                    *SEMANTIC_CASES] for mode, target in targets.items()}, roots)
    return skipped | {mode: SimpleNamespace(mode=mode, target=target,
                                            **pickle.loads((roots[mode] / "read.pickle").read_bytes()))
                      for mode, target in targets.items()}


def result_of(built, mode: str) -> SimpleNamespace:
    if isinstance(built[mode], str):
        pytest.skip(built[mode])
    return built[mode]


@pytest.mark.parametrize("mode", MODES)
def test_demo_build_equals_duckdb(mode, built, duckdb_outputs):
    run = result_of(built, mode)
    module, master = run.session
    if mode == "connect":  # the session the target asked for, not a local one
        assert module.startswith("pyspark.sql.connect"), module
    else:
        assert master == run.target.master, master
    code, shown = run.show
    assert code == 0 and "first_value" in shown, shown
    for table in OUTPUTS:
        assert normalized(run.tables[table]) == normalized(duckdb_outputs[table]), f"{mode}: {table} differs"
    assert run.dq == duckdb_outputs["dq_results"]


@pytest.mark.parametrize("mode", MODES)
def test_semantic_cases_equal_duckdb(mode, built):
    failures = result_of(built, mode).failures
    assert not failures, "\n\n".join(f"{case}:\n{text}" for case, text in failures.items())
