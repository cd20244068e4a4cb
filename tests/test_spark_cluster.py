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

import pytest

from conftest import REPO_ROOT
from engines import OUTPUTS, normalized, profile_yaml
from spark_cluster import JVM_OPTIONS, spark_connect_url, spark_master_url  # noqa: F401 (fixtures)

from clg_metrics.profiles import SparkTarget

MODES = ("cluster", "connect")
CLIENT = Path(__file__).with_name("spark_client.py")
CLIENT_TIMEOUT = 600  # seconds: a hung client fails the test instead of the whole run
# One case per kind of counting the compiled SQL does: cumulative n-th event, distinct values,
# per period with a streak (weeks from Monday, months), and a window anchored on signup.
SEMANTIC_CASES = ("test_event_leaf_nth_matching_event", "test_distinct_counts_first_appearance_of_values",
                  "test_per_week_streak_weeks_start_monday", "test_per_streak_needs_consecutive_periods",
                  "test_within_signup")


def cluster_target(mode: str, request, database: str, warehouse: Path) -> SparkTarget:
    """A target of the session's master (executors on the worker) or Connect server."""
    if mode == "connect":
        return SparkTarget(type="spark", remote=request.getfixturevalue("spark_connect_url"), database=database)
    conf = {"spark.executor.memory": "768m", "spark.executor.extraJavaOptions": JVM_OPTIONS,
            "spark.driver.extraJavaOptions": JVM_OPTIONS, "spark.sql.shuffle.partitions": 2,
            "spark.default.parallelism": 2}
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


@pytest.mark.parametrize("mode", MODES)
def test_demo_build_equals_duckdb(mode, demo, duckdb_outputs, tmp_path, request):
    """build in one process, then `show` and the tables read in another (the catalog must keep them)."""
    project = tmp_path / "demo"
    shutil.copytree(demo, project, ignore=shutil.ignore_patterns("target", "profiles.yml"))
    target = cluster_target(mode, request, f"clg_e2e_{uuid.uuid4().hex[:8]}", tmp_path / "warehouse")
    (project / "profiles.yml").write_text(profile_yaml(target))
    client("cli", "build", "--target", "wh", "--project-dir", str(project), cwd=tmp_path)
    out = tmp_path / "outputs.pickle"
    client("outputs", target.model_dump_json(), str(project), str(out), cwd=tmp_path)
    result = pickle.loads(out.read_bytes())
    code, shown = result["show"]
    assert code == 0 and "first_value" in shown, shown
    for table in OUTPUTS:
        assert normalized(result["tables"][table]) == normalized(duckdb_outputs[table]), f"{mode}: {table} differs"
    assert result["dq"] == duckdb_outputs["dq_results"]


@pytest.mark.parametrize("mode", MODES)
def test_semantic_cases_equal_duckdb(mode, tmp_path, request):
    target = cluster_target(mode, request, f"clg_sem_{uuid.uuid4().hex[:8]}", tmp_path / "warehouse")
    out = tmp_path / "failures.pickle"
    client("semantics", target.model_dump_json(), str(out), *SEMANTIC_CASES, cwd=tmp_path)
    failures = pickle.loads(out.read_bytes())
    assert not failures, "\n\n".join(f"{case}:\n{text}" for case, text in failures.items())
