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


def client(*args: str, cwd: Path) -> str:
    """Run spark_client.py with the worktree's packages; its output, or the test fails with it."""
    path = os.pathsep.join([str(REPO_ROOT), str(CLIENT.parent), os.environ.get("PYTHONPATH", "")])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_"))} | {"PYTHONPATH": path}
    done = subprocess.run([sys.executable, str(CLIENT), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=CLIENT_TIMEOUT)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(args[:2])} exited {done.returncode}:\n{output[-4000:]}"
    assert "Traceback" not in output, output[-4000:]
    return output


@pytest.fixture(scope="module", params=MODES)
def built(request, demo, tmp_path_factory):
    """The demo built by the CLI in one process, then read (``spark_client.py read``) in another:
    the catalog must keep the tables between them. Once per mode, for both tests below."""
    mode, root = request.param, tmp_path_factory.mktemp(request.param)
    project = root / "demo"
    shutil.copytree(demo, project, ignore=shutil.ignore_patterns("target", "profiles.yml"))
    target = cluster_target(mode, request, f"clg_{mode}_{uuid.uuid4().hex[:8]}", root / "warehouse")
    (project / "profiles.yml").write_text(profile_yaml(target))
    client("cli", "build", "--target", "wh", "--project-dir", str(project), cwd=root)
    out = root / "read.pickle"
    client("read", target.model_dump_json(), str(project), str(out), *SEMANTIC_CASES, cwd=root)
    return SimpleNamespace(mode=mode, target=target, **pickle.loads(out.read_bytes()))


def test_demo_build_equals_duckdb(built, duckdb_outputs):
    module, master = built.session
    if built.mode == "connect":  # the session the target asked for, not a local one
        assert module.startswith("pyspark.sql.connect"), module
    else:
        assert master == built.target.master, master
    code, shown = built.show
    assert code == 0 and "first_value" in shown, shown
    for table in OUTPUTS:
        assert normalized(built.tables[table]) == normalized(duckdb_outputs[table]), f"{built.mode}: {table} differs"
    assert built.dq == duckdb_outputs["dq_results"]


def test_semantic_cases_equal_duckdb(built):
    assert not built.failures, "\n\n".join(f"{case}:\n{text}" for case, text in built.failures.items())
