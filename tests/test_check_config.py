"""Check settings in clg_project.yml (issue 10): ``checks: {NAME: {severity, enabled}}``, the
customers source's not-null id, and configuration that names what does not exist.

Builds here run only derived checks (SQL, no great-expectations), so each takes a fraction of a second.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from conftest import cli, copy_demo

EVENTS_CSV = """\
event_id,customer_id,event_name,occurred_at
1,1,signup,2024-01-01 00:00:00
2,1,search,2024-01-02 00:00:00
3,2,signup,2024-01-01 00:00:00
4,4,signup,2024-01-03 00:00:00
"""
CUSTOMERS_CSV = "customer_id,signed_up_at\n1,2024-01-01 00:00:00\n2,2024-01-01 00:00:00\n"
JOURNEY = """\
journey: onboarding
events: {from: events}
customers: {from: customers}
phases:
  - phase: start
    milestones:
      - milestone: signed_up
        reached_when: {event: signup}
      - milestone: searched
        reached_when: {event: search}
"""
PROJECT_YML = 'name: test_project\nprofile: test\nvars:\n  as_of: "2024-03-01 00:00:00"\n'


def project(make_project, project_yml: str = "", files: dict[str, str] | None = None) -> Path:
    return make_project({"clg_project.yml": PROJECT_YML + project_yml, "seeds/events.csv": EVENTS_CSV,
                         "seeds/customers.csv": CUSTOMERS_CSV, "milestones/onboarding.yml": JOURNEY, **(files or {})})


def latest_checks(root: Path) -> dict[str, tuple]:
    with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT run_id, check_name, severity, status, unexpected_count FROM dq_results").fetchall()
    last = max(r[0] for r in rows)
    return {r[1]: r[2:] for r in rows if r[0] == last}


def line_of(text: str, needle: str) -> int:
    return next(i for i, row in enumerate(text.splitlines(), 1) if needle in row)


# --- severity and enabled ------------------------------------------------------------------------

def test_by_default_an_orphan_event_is_a_warning(make_project):
    root = project(make_project)
    code, output = cli("build", project_dir=root)
    assert code == 0, output
    assert latest_checks(root)["events.customer_id.in_customers"] == ("warn", "fail", 1)


def test_severity_error_makes_a_warning_stop_the_build(make_project):
    root = project(make_project, "checks:\n  events.customer_id.in_customers: {severity: error}\n")
    code, output = cli("build", project_dir=root)
    assert code == 1, output
    assert "events.customer_id.in_customers" in output
    assert latest_checks(root)["events.customer_id.in_customers"] == ("error", "fail", 1)


def test_enabled_false_turns_a_check_off(make_project):
    root = project(make_project, "checks:\n  events.customer_id.in_customers:\n    enabled: false\n")
    code, output = cli("build", project_dir=root)
    assert code == 0, output
    assert "in_customers" not in output
    checks = latest_checks(root)
    assert "events.customer_id.in_customers" not in checks
    assert checks["events.customer_id.not_null"] == ("error", "pass", 0)  # the others still run


def test_severity_warn_lets_an_error_check_pass_the_build(make_project):
    events = EVENTS_CSV + "5,,search,2024-01-04 00:00:00\n"
    root = project(make_project, "checks:\n  events.customer_id.not_null: {severity: warn}\n", {"seeds/events.csv": events})
    code, output = cli("build", project_dir=root)
    assert code == 0, output
    assert latest_checks(root)["events.customer_id.not_null"] == ("warn", "fail", 1)


def test_a_check_known_only_to_the_warehouse_can_be_configured(make_project):
    # `events.event_id.unique` exists only when the events source has an event_id column
    root = project(make_project, "checks:\n  events.event_id.unique: {severity: warn}\n")
    code, output = cli("validate", project_dir=root)
    assert code == 0, output
    code, output = cli("build", project_dir=root)
    assert code == 0, output
    assert latest_checks(root)["events.event_id.unique"] == ("warn", "pass", 0)


def test_the_test_command_uses_the_settings_too(make_project):
    root = project(make_project, "checks:\n  events.customer_id.in_customers: {enabled: false}\n")
    assert cli("build", project_dir=root)[0] == 0
    code, output = cli("test", project_dir=root)
    assert code == 0, output
    assert "in_customers" not in output


def test_the_demo_says_anonymous_visitors_are_expected(tmp_path):
    root = copy_demo(tmp_path / "demo")
    text = (root / "clg_project.yml").read_text()
    assert "stg_events.user_id.in_stg_customers" in text and "Anonymous visitors" in text
    code, output = cli("build", project_dir=root)
    assert code == 0, output
    assert "FAIL" not in output and "in_stg_customers" not in output, output
    assert "(0 warnings)" in output
    assert "stg_customers.user_id.not_null" in output


# --- the customers source's id ---------------------------------------------------------------------

def test_a_customer_row_without_an_id_is_a_warning(make_project):
    customers = CUSTOMERS_CSV + ",2024-01-02 00:00:00\n"
    root = project(make_project, files={"seeds/customers.csv": customers})
    code, output = cli("build", project_dir=root)
    assert code == 0, output
    assert latest_checks(root)["customers.customer_id.not_null"] == ("warn", "fail", 1)
    with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
        ids = [r[0] for r in con.execute("SELECT customer_id FROM customer_progress ORDER BY 1").fetchall()]
    assert ids == [1, 2, 4]  # the row without an id belongs to nobody; everyone else is unchanged


# --- names that do not exist ---------------------------------------------------------------------

def test_an_unknown_check_name_is_located_with_did_you_mean(make_project):
    extra = "checks:\n  events.customer_id.in_customer:\n    severity: warn\n"
    root = project(make_project, extra)
    code, output = cli("validate", project_dir=root)
    assert code == 2, output
    line = line_of(PROJECT_YML + extra, "in_customer:")
    assert f"{root / 'clg_project.yml'}:{line}:3: `checks:` names no check `events.customer_id.in_customer`" in output
    assert "did you mean `events.customer_id.in_customers`?" in output
    assert cli("build", project_dir=root)[0] == 2
    assert not (root / "target" / "test.duckdb").exists()


def test_an_unknown_check_name_without_a_close_one_lists_examples(make_project):
    root = project(make_project, "checks:\n  completely_different: {enabled: false}\n")
    code, output = cli("validate", project_dir=root)
    assert code == 2, output
    assert "names no check `completely_different`" in output and "dq_results.check_name" in output


def test_output_invariants_cannot_be_configured(make_project):
    root = project(make_project, "checks:\n  funnel.customers_reached_never_increases: {enabled: false}\n")
    code, output = cli("validate", project_dir=root)
    assert code == 2, output
    assert "is an invariant of the outputs" in output and f"{root / 'clg_project.yml'}:6:" in output


def test_a_bad_severity_is_located(make_project):
    root = project(make_project, "checks:\n  events.customer_id.in_customers: {severity: fatal}\n")
    code, output = cli("validate", project_dir=root)
    assert code == 2, output
    assert f"{root / 'clg_project.yml'}:6:" in output and "severity" in output and "'warn' or 'error'" in output


def test_an_unknown_setting_of_a_check_is_located(make_project):
    root = project(make_project, "checks:\n  events.customer_id.in_customers: {severty: warn}\n")
    code, output = cli("validate", project_dir=root)
    assert code == 2, output
    assert "unknown key `severty`" in output and "did you mean `severity`?" in output


@pytest.mark.parametrize("name,hint", [("nosuch", "expected one of: `customers`, `events`, `stg`"),
                                       ("stg_evnts", None), ("custmers", "did you mean `customers`?"),
                                       ("funnel", "expected one of")])
def test_models_naming_no_seed_or_model_is_located(make_project, name, hint):
    extra = (f"models:\n  {name}:\n    checks:\n"
             "      - {expect: column_values_to_not_be_null, column: customer_id}\n")
    model = "stg_events" if name == "stg_evnts" else "stg"
    root = project(make_project, extra, {f"sql/{model}.sql": "SELECT * FROM events\n"})
    code, output = cli("validate", project_dir=root)
    assert code == 2, output
    line = line_of(PROJECT_YML + extra, f"  {name}:")
    assert f"{root / 'clg_project.yml'}:{line}:3: `models: {name}` names no seed or sql/ model" in output, output
    assert (hint or "did you mean `stg_events`?") in output, output
    code, output = cli("build", project_dir=root)
    assert code == 2 and "Attempt to connect" not in output, output


def test_models_may_name_a_warehouse_table(make_project):
    root = project(make_project, "models:\n  analytics.events:\n    description: read from the warehouse\n")
    code, output = cli("validate", project_dir=root)
    assert code == 0, output


def test_models_naming_a_model_that_does_not_parse_reports_only_the_sql(make_project):
    root = project(make_project, "models:\n  stg:\n    materialized: view\n", {"sql/stg.sql": "SELEC oops\n"})
    code, output = cli("validate", project_dir=root)
    assert code == 2, output
    assert "stg.sql" in output and "names no seed" not in output
