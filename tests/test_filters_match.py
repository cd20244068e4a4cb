"""No silent zeros for filters (issue 11, item 5): an event leaf whose ``where`` matches none of
the events of its names is the warning ``<events>.<journey>.filters_match``, whose hint names the
journey, the milestone (or segment) and the filter, with a did-you-mean from the keys and values
that occur; ``--warn-error`` fails the build on it, and ``checks:`` configures it."""

from __future__ import annotations

import json

import duckdb
import pytest

from conftest import cli

EVENTS_CSV = """\
customer_id,event_name,occurred_at,plan,properties
1,signup,2024-01-01 00:00:00,pro,{}
1,export,2024-01-02 00:00:00,pro,"{""format"": ""csv""}"
2,signup,2024-01-01 00:00:00,free,{}
2,export,2024-01-03 00:00:00,free,"{""format"": ""json""}"
2,export,2024-01-04 00:00:00,free,"{""format"": ""csv""}"
3,signup,2024-01-02 00:00:00,free,{}
"""
PROJECT_YML = 'name: test_project\nprofile: test\nvars:\n  as_of: "2024-03-01 00:00:00"\n'


def journey(where: str, segment_where: str | None = None) -> str:
    text = f"""\
journey: onboarding
events: {{from: events}}
phases:
  - phase: start
    milestones:
      - milestone: signed_up
        reached_when: {{event: signup}}
      - milestone: exported_csv
        reached_when: {{event: export, where: {where}}}
"""
    if segment_where:
        text += f"segments:\n  - segment: exporters\n    when: {{event: export, where: {segment_where}}}\n"
    return text


def build(make_project, where: str, *flags, segment_where=None, project_yml: str = ""):
    root = make_project({"clg_project.yml": PROJECT_YML + project_yml, "seeds/events.csv": EVENTS_CSV,
                         "milestones/onboarding.yml": journey(where, segment_where)})
    code, out = cli("build", *flags, project_dir=root)
    return root, code, out


def latest(root, name: str):
    with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT run_id, severity, status, unexpected_count, sample FROM dq_results "
                           "WHERE check_name = ?", [name]).fetchall()
    return max(rows)[1:] if rows else None


NAME = "events.onboarding.filters_match"


def test_a_misspelt_property_key_is_a_warning_with_did_you_mean(make_project):
    root, code, out = build(make_project, "\"fromat = 'csv'\"")
    assert code == 0, out
    severity, status, count, sample = latest(root, NAME)
    assert (severity, status, count) == ("warn", "fail", 1)
    assert json.loads(sample) == [["milestone", "exported_csv", "fromat = 'csv'", 3]]  # the sample stays data
    assert (f"FAIL {NAME}: journey `onboarding`, milestone `exported_csv`: `where: fromat = 'csv'` matches no "
            "`export` event: no such event has a column or property `fromat` (did you mean `format`?)") in out, out


def test_a_value_that_never_occurs_lists_the_values_that_do(make_project):
    root, code, out = build(make_project, "{format: cvs}")
    assert code == 0, out
    assert latest(root, NAME)[:3] == ("warn", "fail", 1)
    assert ("milestone `exported_csv`: `where: {format: cvs}` matches no `export` event: `format` holds "
            "`csv`, `json` (did you mean `csv`?)") in out, out


def test_a_column_value_in_a_segment_is_named_too(make_project):
    root, code, out = build(make_project, "{format: csv}", segment_where="\"plan = 'prro'\"")
    assert code == 0, out
    assert json.loads(latest(root, NAME)[3]) == [["segment", "exporters", "plan = 'prro'", 3]]
    assert ("segment `exporters`: `where: plan = 'prro'` matches no `export` event: `plan` holds `free`, `pro` "
            "(did you mean `pro`?)") in out, out
    assert "exported_csv`:" not in out  # that filter matches


def test_a_filter_that_matches_is_no_warning(make_project):
    root, code, out = build(make_project, "{format: csv}", segment_where="{plan: pro}")
    assert code == 0, out
    assert latest(root, NAME) == ("warn", "pass", 0, None)
    assert f"FAIL {NAME}" not in out
    with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
        reached = con.execute("SELECT customers_reached FROM funnel WHERE milestone = 'exported_csv'").fetchone()
    assert reached == (2,)


def test_a_leaf_whose_event_never_occurs_is_left_to_event_names_occur(make_project):
    root = make_project({"clg_project.yml": PROJECT_YML, "seeds/events.csv": EVENTS_CSV, "milestones/onboarding.yml":
                         journey("{format: csv}").replace("event: export,", "event: exprot,")})
    code, out = cli("build", project_dir=root)
    assert code == 0, out
    assert latest(root, NAME)[:2] == ("warn", "pass")
    assert latest(root, "events.onboarding.event_names_occur")[:2] == ("warn", "fail")


def test_warn_error_fails_the_build_and_publishes_nothing(make_project):
    root, code, out = build(make_project, "{format: cvs}", "--warn-error")
    assert code == 1, out
    assert NAME in out and "nothing was published" in out
    with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "funnel" not in tables


@pytest.mark.parametrize("setting,code,status", [("{severity: error}", 1, ("error", "fail")),
                                                  ("{enabled: false}", 0, None)])
def test_the_check_is_configurable(make_project, setting, code, status):
    root, got, out = build(make_project, "{format: cvs}", project_yml=f"checks:\n  {NAME}: {setting}\n")
    assert got == code, out
    assert (latest(root, NAME) or (None, None))[:2] == (status or (None, None))
