"""sql/ models that read the outputs (issue 11, item 2).

Before, a model reading ``customer_progress`` failed on the first build (the table did not exist
yet) and on every later build read the previous build's outputs: the DAG did not know it read
them. Now the outputs are nodes: such a model runs after them, in the same build, and is
published with them.
"""

from __future__ import annotations

import json

import duckdb

from conftest import cli
from test_cli import EVENTS_CSV, JOURNEY, PROJECT_YML

STALLED = "SELECT max(days_since_progress) AS max_days, count(*) AS n FROM customer_progress\n"


def _project(make_project, **extra):
    return make_project({"clg_project.yml": PROJECT_YML, "seeds/events.csv": EVENTS_CSV,
                         "milestones/onboarding.yml": JOURNEY, **extra})


def _fetch(root, sql):
    with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_model_over_an_output_reads_this_builds_output(make_project):
    root = _project(make_project, **{"sql/stalled.sql": STALLED})
    code, out = cli("build", "--skip-checks", project_dir=root)
    assert code == 0, out  # before: Catalog Error, customer_progress does not exist
    # as of 2024-03-01 c3 (last progress: signed up 01-02, one search only) is the longest: 59 days
    first = _fetch(root, "SELECT max_days, n FROM stalled")
    assert first == _fetch(root, "SELECT max(days_since_progress), count(*) FROM customer_progress")
    assert round(first[0][0], 2) == 59.0
    code, out = cli("build", "--skip-checks", "--as-of", "2024-04-01", project_dir=root)
    assert code == 0, out
    second = _fetch(root, "SELECT max_days FROM stalled")[0][0]
    assert round(second, 2) == 90.0  # 31 days later; before: 59, the previous build's outputs
    assert second == _fetch(root, "SELECT max(days_since_progress) FROM customer_progress")[0][0]


def test_ls_and_manifest_show_the_model_after_the_output(make_project):
    root = _project(make_project, **{"sql/stalled.sql": STALLED})
    code, out = cli("ls", project_dir=root)
    assert code == 0, out
    lines = [line.split() for line in out.splitlines()]
    names = [parts[1] for parts in lines]
    assert names.index("stalled") > names.index("customer_progress")
    assert lines[names.index("stalled")][-1] == "customer_progress"
    code, out = cli("compile", project_dir=root)
    assert code == 0, out
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    assert manifest["models"]["stalled"]["depends_on"] == ["customer_progress"]


def test_select_rebuilds_the_models_over_the_outputs(make_project):
    root = _project(make_project, **{"sql/stalled.sql": STALLED})
    assert cli("build", "--skip-checks", project_dir=root)[0] == 0
    code, out = cli("build", "--skip-checks", "--select", "onboarding", "--as-of", "2024-04-01", project_dir=root)
    assert code == 0, out
    assert round(_fetch(root, "SELECT max_days FROM stalled")[0][0], 2) == 90.0


def test_a_journey_over_a_model_over_the_outputs_is_a_cycle(make_project):
    journey = JOURNEY.replace("from: events", "from: stg_loop")
    root = _project(make_project, **{"milestones/onboarding.yml": journey, "sql/stg_loop.sql":
                                     "SELECT e.* FROM events AS e JOIN funnel AS f ON true\n"})
    code, out = cli("build", project_dir=root)
    assert code == 2, out
    assert "cycle" in out and "stg_loop" in out


def test_a_model_reading_a_table_nothing_produces_is_located_at_validate(make_project):
    root = _project(make_project, **{"sql/stalled.sql": "SELECT *\nFROM customer_progres\n"})
    code, out = cli("validate", project_dir=root)
    assert code == 2, out
    assert "stalled.sql:2" in out and "`customer_progres`" in out and "did you mean `customer_progress`?" in out
