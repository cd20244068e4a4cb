"""``show`` honours or refuses every flag (issue 11, item 7): --select filters by journey, --as-of
is refused, --where is a checked SQL condition, --format csv/json pipe, control characters escaped."""

from __future__ import annotations

import csv
import io
import json

import pytest

from conftest import cli
from test_cli import EVENTS_CSV, JOURNEY, PROJECT_YML


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("show") / "p"
    second = JOURNEY.replace("journey: onboarding", "journey: other").replace(
        "kpi: Accounts created", "kpi: \"Evil \\e]0;pwned\\a label\"")
    files = {"clg_project.yml": PROJECT_YML, "seeds/events.csv": EVENTS_CSV, "milestones/onboarding.yml": JOURNEY,
             "milestones/other.yml": second}
    from conftest import PROFILES
    for rel, text in {**files, "profiles.yml": PROFILES}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    code, out = cli("build", "--skip-checks", project_dir=root)
    assert code == 0, out
    return root


def test_select_filters_by_journey(built):
    code, out = cli("show", "funnel", "--select", "other", "--format", "json", project_dir=built)
    assert code == 0, out
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["journey"] for r in rows} == {"other"} and len(rows) == 3


def test_select_unknown_journey_is_refused(built):
    code, out = cli("show", "funnel", "--select", "nosuch", project_dir=built)
    assert code == 2 and "no journey `nosuch`" in out


def test_as_of_is_refused(built):
    code, out = cli("show", "funnel", "--as-of", "2024-01-01", project_dir=built)
    assert code == 2 and "--as-of applies to `build`" in out


def test_where_and_csv(built):
    code, out = cli("show", "funnel", "--where", "journey = 'onboarding' AND customers_reached >= 2",
                    "--format", "csv", project_dir=built)
    assert code == 0, out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["milestone"], r["customers_reached"]) for r in rows] == [("signed_up", "3"), ("searched", "2")]


@pytest.mark.parametrize("where, says", [
    ("jorney = 'x'", "no column `jorney` (did you mean `journey`?)"),
    ("journey", "is not a condition"),
    ("1; DROP TABLE funnel", "exactly one SQL expression"),
    ("(SELECT 1) = 1", "may not contain"),
])
def test_bad_where_is_refused(built, where, says):
    code, out = cli("show", "funnel", "--where", where, project_dir=built)
    assert code == 2 and says in out, out


def test_control_characters_are_escaped(built):
    code, out = cli("show", "funnel", "--select", "other", project_dir=built)
    assert code == 0, out
    assert "\x1b" not in out and "\x07" not in out
    assert "Evil \\x1b]0;pwned\\x07 label" in out
