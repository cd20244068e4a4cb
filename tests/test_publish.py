"""Builds never lose the last good outputs: killed, locked, concurrent and failing builds, for real.

The killed and concurrent builds run the real console script in a subprocess. Builds here skip the
data-quality checks unless a check is the point (great-expectations costs seconds per process).
The project is the one of ``test_cli.py``: a sequential journey signed_up -> searched (2
searches) -> exported over ``seeds/events.csv``, funnel 3, 2, 1 as of 2024-03-01.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from sqlglot import exp

from clg_metrics.checks.derive import BATCH, UNEXPECTED_ROWS, CheckSpec
from conftest import cli

EVENTS_CSV = """\
customer_id,event_name,occurred_at
1,signup,2024-01-01 00:00:00
1,search,2024-01-02 00:00:00
1,search,2024-01-03 00:00:00
1,export,2024-01-04 12:00:00
2,signup,2024-01-01 00:00:00
2,search,2024-01-05 00:00:00
2,search,2024-01-06 00:00:00
3,signup,2024-01-02 00:00:00
3,search,2024-01-02 06:00:00
3,export,2024-01-03 00:00:00
4,search,2024-01-01 00:00:00
4,search,2024-01-02 00:00:00
"""
# customer 2 exports too: a build that published this would show 3, 2, 2
MORE_EVENTS = "2,export,2024-01-07 00:00:00\n"

JOURNEY = """\
journey: onboarding
events:
  from: events
phases:
  - phase: start
    milestones:
      - milestone: signed_up
        reached_when: {event: signup}
      - milestone: searched
        reached_when: {event: search, at_least: 2}
  - phase: value
    milestones:
      - milestone: exported
        reached_when: {event: export}
"""

PROJECT_YML = """\
name: test_project
profile: test
vars:
  as_of: "2024-03-01 00:00:00"
"""

STAGED = "__clg_next__"
# a sql/ model that runs until it is killed (it reads events, so it starts right after the seed)
ENDLESS_SQL = "SELECT e.customer_id, sum(r.i) AS n FROM events e, range(1000000000000) r(i) GROUP BY 1\n"


@pytest.fixture
def project(make_project):
    return make_project({"clg_project.yml": PROJECT_YML, "seeds/events.csv": EVENTS_CSV,
                         "milestones/onboarding.yml": JOURNEY})


def database(root: Path) -> Path:
    return root / "target" / "test.duckdb"


def query(root: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database(root)), read_only=True) as con:
        return con.execute(sql).fetchall()


def funnel(root: Path) -> list[int]:
    rows = query(root, "SELECT customers_reached FROM funnel ORDER BY journey, milestone_index")
    return [n for (n,) in rows]


def tables(root: Path) -> list[str]:
    return [t for (t,) in query(root, "SELECT table_name FROM information_schema.tables ORDER BY 1")]


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every table's rows, sorted."""
    with duckdb.connect(str(database(root)), read_only=True) as con:
        names = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in sorted(names)
                if t not in skip}


def serving_snapshot(root: Path) -> dict[str, list[tuple]]:
    """Every table's rows in the serving file, which readers open (sorted)."""
    with duckdb.connect(str(root / "target" / "test_serving.duckdb"), read_only=True) as con:
        names = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in sorted(names)}


def console_script() -> str:
    local = Path(sys.executable).parent / "clg-metrics"
    if local.exists():
        return str(local)
    found = shutil.which("clg-metrics")
    if found is None:
        pytest.skip("the clg-metrics console script is not installed")
    return found


def start_build(root: Path, *args: str) -> tuple[subprocess.Popen, list[str]]:
    """Start `clg-metrics build` in a subprocess; its output lines are collected as they come."""
    env = {k: v for k, v in os.environ.items() if k not in ("CLG_PROFILES_DIR", "CLG_DUCKDB_PATH")}
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen([console_script(), "build", *args, "--project-dir", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []

    def read():
        for line in proc.stdout:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    return proc, lines


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=60)


def test_killed_build_keeps_the_last_good_outputs(project):
    code, output = cli("build", "--skip-checks", project_dir=project)
    assert code == 0, output
    good = snapshot(project)
    assert funnel(project) == [3, 2, 1]
    served = serving_snapshot(project)

    (project / "sql").mkdir()
    (project / "sql" / "endless.sql").write_text(ENDLESS_SQL)
    (project / "seeds" / "events.csv").write_text(EVENTS_CSV + MORE_EVENTS)
    proc, lines = start_build(project, "--skip-checks")
    try:
        # the seed is reported once loaded; the endless model is next
        def seeded():
            return any("events" in line and "seed" in line for line in lines) or proc.poll() is not None

        wait_for(seeded, 240, "the seed to load")
        time.sleep(1.5)
        assert proc.poll() is None, "".join(lines)
        assert not any("endless" in line for line in lines), "".join(lines)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        stop(proc)
    assert proc.returncode == -signal.SIGKILL

    # the killed build had staged the new seed; nothing of it was published
    after = snapshot(project)
    assert STAGED + "events" in after, sorted(after)
    assert {t: rows for t, rows in after.items() if not t.startswith(STAGED)} == good
    assert funnel(project) == [3, 2, 1]
    assert serving_snapshot(project) == served  # readers still see the last good build

    # the next good build cleans up the leftovers and publishes
    (project / "sql" / "endless.sql").unlink()
    code, output = cli("build", "--skip-checks", project_dir=project)
    assert code == 0, output
    assert funnel(project) == [3, 2, 2]
    assert not [t for t in tables(project) if t.startswith(STAGED)]
    after = serving_snapshot(project)
    assert after["funnel"] == sorted(snapshot(project)["funnel"]) and after["clg_builds"] != served["clg_builds"]


def test_database_in_use_by_another_process(project):
    code, output = cli("build", "--skip-checks", project_dir=project)
    assert code == 0, output
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\ncon = duckdb.connect(sys.argv[1])\n"
                               "print('ready', flush=True)\ntime.sleep(300)\n", str(database(project))],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        env = {k: v for k, v in os.environ.items() if k not in ("CLG_PROFILES_DIR", "CLG_DUCKDB_PATH")}
        done = subprocess.run([console_script(), "build", "--skip-checks", "--project-dir", str(project)],
                              capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "in use" in done.stderr and str(database(project)) in done.stderr, done.stderr
        assert "Traceback" not in done.stdout + done.stderr
        assert "not a clg-metrics build" in done.stderr and "serving" in done.stderr, done.stderr
        # show reads the serving file, which the holder of the warehouse does not lock (issue 10:
        # this used to be refused too)
        code, output = cli("show", "funnel", project_dir=project)
        assert code == 0 and "66.67" in output, output
    finally:
        stop(holder)
    code, output = cli("build", "--skip-checks", project_dir=project)
    assert code == 0, output
    assert funnel(project) == [3, 2, 1]


def test_concurrent_builds_publish_one_whole_build(project):
    # a model that takes a moment, so that the two builds overlap
    (project / "sql").mkdir()
    (project / "sql" / "busy.sql").write_text("SELECT sum(r.i) AS n FROM range(150000000) r(i)\n")
    early, early_lines = start_build(project, "--skip-checks", "--as-of", "2024-01-05")
    late, late_lines = start_build(project, "--skip-checks")
    try:
        early.wait(timeout=300)
        late.wait(timeout=300)
    finally:
        stop(early)
        stop(late)
    outputs = ["".join(early_lines), "".join(late_lines)]
    codes = [early.returncode, late.returncode]
    assert sorted(codes) in ([0, 0], [0, 2]), (codes, outputs)
    for code, output in zip(codes, outputs):
        assert "Traceback" not in output, output
        if code == 2:
            assert "in use" in output, output

    # one whole build: the funnel of one as_of, matching milestone_status and customer_progress
    assert funnel(project) in ([3, 1, 1], [3, 2, 1])
    by_status = query(project, "SELECT milestone_index, count(*) FILTER (WHERE is_reached) "
                               "FROM milestone_status GROUP BY 1 ORDER BY 1")
    assert [n for _, n in by_status] == funnel(project)
    reached = query(project, "SELECT sum(milestones_reached) FROM customer_progress")
    assert reached == [(sum(funnel(project)),)]
    assert not [t for t in tables(project) if t.startswith(STAGED)]


def test_failing_check_or_model_publishes_nothing(project, monkeypatch):
    code, output = cli("build", project_dir=project)  # with checks
    assert code == 0, output
    good = snapshot(project, skip=("dq_results", "clg_builds"))  # the two logs a failed build appends to
    current = query(project, "SELECT build_id FROM clg_builds WHERE is_current")
    dq_before = query(project, "SELECT count(*) FROM dq_results")[0][0]
    assert funnel(project) == [3, 2, 1]

    # new data and another as_of: publishing anything would change the tables
    (project / "seeds" / "events.csv").write_text(EVENTS_CSV + MORE_EVENTS)
    import clg_metrics.runner as runner

    real = runner.output_checks

    def with_a_failing_check(*args, **kwargs):
        """The real output checks, and one that finds every funnel row unexpected."""
        every_row = exp.select("*").from_(exp.to_table(BATCH))
        failing = CheckSpec("funnel.always_fails", "funnel", UNEXPECTED_ROWS, {}, "error", "output",
                            query=every_row)
        return real(*args, **kwargs) + [failing]

    monkeypatch.setattr(runner, "output_checks", with_a_failing_check)
    code, output = cli("build", "--as-of", "2024-02-01", project_dir=project)
    assert code == 1, output
    assert "funnel.always_fails" in output and "nothing was published" in output
    assert snapshot(project, skip=("dq_results", "clg_builds")) == good
    # the failed build is logged, and the published outputs are still the first build's
    assert query(project, "SELECT status, is_current FROM clg_builds ORDER BY started_at") == \
        [("success", True), ("failed", False)]
    assert query(project, "SELECT build_id FROM clg_builds WHERE is_current") == current
    failed = query(project, "SELECT relation, severity, status, unexpected_count FROM dq_results "
                            "WHERE check_name = 'funnel.always_fails'")
    assert failed == [("funnel", "error", "fail", 3)]  # the staged funnel's rows
    assert query(project, "SELECT count(*) FROM dq_results")[0][0] > dq_before
    monkeypatch.undo()

    # a model that fails while it runs (not when it is parsed)
    (project / "sql").mkdir()
    (project / "sql" / "broken.sql").write_text("SELECT CAST(event_name AS INTEGER) AS n FROM events\n")
    good = snapshot(project)
    code, output = cli("build", "--as-of", "2024-02-01", project_dir=project)
    assert code == 1, output
    assert "broken" in output and "nothing was published" in output
    assert snapshot(project) == good
    assert not [t for t in tables(project) if t.startswith(STAGED)]
