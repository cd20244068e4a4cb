"""No silent zeros (issue 11, item 5): an event name no event has is a warning naming the journey,
the milestone and a did-you-mean from the names that occur; --warn-error fails the build on it."""

from __future__ import annotations

import duckdb

from conftest import cli
from test_cli import EVENTS_CSV, JOURNEY, PROJECT_YML


def _project(make_project):
    return make_project({"clg_project.yml": PROJECT_YML, "seeds/events.csv": EVENTS_CSV,
                         "milestones/onboarding.yml": JOURNEY.replace("{event: export}", "{event: exprot}")})


def test_a_misspelt_event_is_a_warning_with_a_suggestion(make_project):
    root = _project(make_project)
    code, out = cli("build", project_dir=root)
    assert code == 0, out
    assert ("journey `onboarding`, milestone `exported`: event `exprot` never occurs in `events` "
            "(did you mean `export`?)") in out


def test_warn_error_fails_the_build_and_publishes_nothing(make_project):
    root = _project(make_project)
    code, out = cli("build", "--warn-error", project_dir=root)
    assert code == 1, out
    assert "event_names_occur" in out and "nothing was published" in out
    with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "funnel" not in tables
