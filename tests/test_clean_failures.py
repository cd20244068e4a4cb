"""File-system and corrupt-database mistakes end in one line naming the path, exit 2, no traceback
(issue 11). As root, chmod does not stop reads or writes, so unreadable and unwritable paths are
made with a directory or a file where the other is expected."""

from __future__ import annotations

import pytest

from conftest import cli

EVENTS = "customer_id,event_name,occurred_at\n1,signup,2024-01-01 10:00:00\n"
JOURNEY = ("journey: j\nevents: {from: events}\nphases:\n  - phase: p\n    milestones:\n"
           "      - milestone: a\n        reached_when: {event: signup}\n")


@pytest.fixture
def project(make_project):
    return make_project({"milestones/j.yml": JOURNEY, "seeds/events.csv": EVENTS})


def fails_cleanly(root, *args, says: str):
    code, output = cli(*args, project_dir=root)
    assert code == 2, output
    assert "Traceback" not in output
    error = [line for line in output.splitlines() if line.startswith("Error")]
    assert error and says in error[0], output
    return output


@pytest.mark.parametrize("command", [("show", "funnel"), ("build", "--skip-checks")])
def test_truncated_duckdb_file(project, command):
    code, output = cli("build", "--skip-checks", project_dir=project)
    assert code == 0, output
    for name in ("test.duckdb", "test_serving.duckdb"):
        path = project / "target" / name
        if path.exists():
            with open(path, "r+b") as handle:
                handle.truncate(100)
    fails_cleanly(project, *command, says="target/test")


def test_system_schema_in_profiles(make_project):
    profiles = ("test:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: target/test.duckdb\n"
                "      schema: information_schema\n")
    root = make_project({"milestones/j.yml": JOURNEY, "seeds/events.csv": EVENTS, "profiles.yml": profiles})
    output = fails_cleanly(root, "build", "--skip-checks", says="profiles.yml:7:")
    assert "information_schema" in output and "own catalog" in output


def test_unreadable_seed(project):
    (project / "seeds" / "broken.csv").mkdir()
    fails_cleanly(project, "build", "--skip-checks", says="seeds/broken.csv")


@pytest.mark.parametrize("command", [("build", "--skip-checks"), ("compile",)])
def test_target_that_cannot_be_written(project, command):
    (project / "target").write_text("not a directory")
    fails_cleanly(project, *command, says="target")
