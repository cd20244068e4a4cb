"""Readers and builds side by side, with real processes (issue 10).

Two reader processes loop over the serving file while the CLI builds back to back: one keeps its
connection open the whole time, one reconnects for every read. Each read is one statement (one
snapshot): the current build id from clg_builds, the funnel's counts, and the counts derived from
milestone_status. Every build must succeed and every read must be whole: funnel == derived, and a
build id always comes with the same numbers. Then builds killed with SIGKILL at moments spread
over a build leave a serving file that opens and holds one whole, successful build.

The project is test_publish.py's (funnel 3, 2, 1 as of 2024-03-01); the as_of moves through the
first week of January so that consecutive builds differ.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from test_publish import EVENTS_CSV, JOURNEY, PROJECT_YML, console_script, start_build, stop

# One statement, so one snapshot of one file: a torn read would show funnel != derived, or a
# build id with other numbers than it has elsewhere.
READ = """
SELECT (SELECT build_id FROM clg_builds WHERE is_current) AS build_id,
       (SELECT list(customers_reached ORDER BY journey, milestone_index) FROM funnel) AS funnel,
       (SELECT list(n ORDER BY journey, milestone_index)
          FROM (SELECT journey, milestone_index, count(*) FILTER (WHERE is_reached) AS n
                  FROM milestone_status GROUP BY ALL)) AS derived
"""
READER = """
import duckdb, json, os, sys, time
path, mode, stop, query = sys.argv[1:5]
con = duckdb.connect(path, read_only=True) if mode == "keep" else None
print(json.dumps({"ready": True}), flush=True)
while not os.path.exists(stop):
    try:
        if mode == "reopen":
            con = duckdb.connect(path, read_only=True)
        build_id, funnel, derived = con.execute(query).fetchone()
        print(json.dumps({"build_id": build_id, "funnel": funnel, "derived": derived}), flush=True)
        if mode == "reopen":
            con.close()
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
    time.sleep(0.05)  # a reader that polls, not one that takes a CPU from the builds
"""
BUILDS = 20


@pytest.fixture
def project(make_project):
    return make_project({"clg_project.yml": PROJECT_YML, "seeds/events.csv": EVENTS_CSV,
                         "milestones/onboarding.yml": JOURNEY})


def serving(root: Path) -> Path:
    return root / "target" / "test_serving.duckdb"


def build(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CLG_PROFILES_DIR", "CLG_DUCKDB_PATH")}
    return subprocess.run([console_script(), "build", "--skip-checks", *args, "--project-dir", str(root)],
                          capture_output=True, text=True, env=env, timeout=120)


def start_reader(path: Path, mode: str, stop_file: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", READER, str(path), mode, str(stop_file), READ],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert json.loads(proc.stdout.readline()) == {"ready": True}, proc.stderr.read()
    return proc


def check_reads(reads: list[dict]) -> dict[str, list[int]]:
    """Every read whole; the numbers of each build id, which must be the same at every read."""
    errors = [r["error"] for r in reads if "error" in r]
    assert not errors, errors[:5]
    seen: dict[str, list[int]] = {}
    for read in reads:
        assert read["funnel"] == read["derived"], read
        assert seen.setdefault(read["build_id"], read["funnel"]) == read["funnel"], read
    return seen


def test_readers_never_block_builds_and_always_see_one_build(project, tmp_path):
    first = build(project)
    assert first.returncode == 0, first.stdout + first.stderr
    stop_file = tmp_path / "stop"
    readers = {mode: start_reader(serving(project), mode, stop_file) for mode in ("keep", "reopen")}
    started = time.monotonic()
    try:
        as_ofs = [datetime(2024, 1, 1, 12) + timedelta(hours=8 * i) for i in range(BUILDS - 1)]
        for as_of in as_ofs + [datetime(2024, 3, 1)]:
            done = build(project, "--as-of", as_of.isoformat(sep=" "))
            assert done.returncode == 0, (as_of, done.stdout + done.stderr)
    finally:
        stop_file.touch()
        outputs = {mode: proc.communicate(timeout=60)[0] for mode, proc in readers.items()}
    elapsed = time.monotonic() - started
    reads = {mode: [json.loads(line) for line in out.splitlines()] for mode, out in outputs.items()}

    with duckdb.connect(str(serving(project)), read_only=True) as con:
        builds = con.execute("SELECT build_id, status, is_current FROM clg_builds ORDER BY started_at").fetchall()
        final = [n for (n,) in con.execute("SELECT customers_reached FROM funnel ORDER BY milestone_index").fetchall()]
    assert len(builds) == BUILDS + 1 and all(status == "success" for _, status, _ in builds)
    assert [current for *_, current in builds] == [False] * BUILDS + [True]
    assert final == [3, 2, 1]
    ids = [b for b, *_ in builds]

    # the open connection keeps reading the build it opened, whole, however often it is replaced
    kept = check_reads(reads["keep"])
    assert list(kept) == [ids[0]] and len(reads["keep"]) > BUILDS, (kept, len(reads["keep"]))
    # reconnecting readers follow the builds, in order, each seen whole
    followed = check_reads(reads["reopen"])
    assert set(followed) <= set(ids)
    assert len(followed) >= 5, (len(followed), elapsed)
    order = [ids.index(r["build_id"]) for r in reads["reopen"]]
    assert order == sorted(order)
    # the builds differ (the as_of moved), so a mixed read could not have gone unnoticed
    assert len({tuple(f) for f in followed.values()}) >= 3, followed


def test_builds_killed_at_any_moment_leave_a_whole_serving_file(project):
    first = build(project)
    assert first.returncode == 0, first.stdout + first.stderr
    began = time.monotonic()
    assert build(project, "--as-of", "2024-01-03").returncode == 0
    duration = time.monotonic() - began
    for step in range(8):
        proc, lines = start_build(project, "--skip-checks", "--as-of", f"2024-01-0{1 + step % 7} 06:00:00")
        try:
            time.sleep(duration * (0.3 + 0.1 * step))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            stop(proc)
        assert proc.returncode in (0, -signal.SIGKILL), "".join(lines)
        with duckdb.connect(str(serving(project)), read_only=True) as con:
            build_id, funnel, derived = con.execute(READ).fetchone()
            status = con.execute("SELECT status FROM clg_builds WHERE is_current").fetchall()
        assert build_id is not None and status == [("success",)]
        assert funnel == derived
    done = build(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not list(serving(project).parent.glob(f".{serving(project).name}.*"))  # leftovers cleaned
    with duckdb.connect(str(serving(project)), read_only=True) as con:
        assert con.execute(READ).fetchone()[1] == [3, 2, 1]
