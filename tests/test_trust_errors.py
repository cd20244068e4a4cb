"""No traceback, and a message that says what to change, for every wrong-typed or misnamed column
(issue 11, items 3 and 4), and run_results.json in every outcome (item 6).

Each case is a small project built through the CLI (``conftest.cli`` fails on any traceback).
"""

from __future__ import annotations

import json

import pytest

from conftest import cli

PROJECT = "name: t\nprofile: test\nvars: {as_of: '2025-03-01'}\n"
JOURNEY = """\
journey: j
events: {from: events%(columns)s}
%(customers)s
phases:
  - phase: p
    milestones:
      - milestone: s
        reached_when: {event: signup}
"""
GOOD_EVENTS = "customer_id,event_name,occurred_at\n1,signup,2025-01-01 00:22:00\n2,search,2025-01-02 00:22:00\n"


def project(make_project, events=GOOD_EVENTS, columns="", customers="", customers_csv=None, extra=None):
    files = {"clg_project.yml": PROJECT, "seeds/events.csv": events,
             "milestones/j.yml": JOURNEY % {"columns": columns, "customers": customers}, **(extra or {})}
    if customers_csv is not None:
        files["seeds/customers.csv"] = customers_csv
    return make_project(files)


def results(root):
    return json.loads((root / "target" / "run_results.json").read_text())


# case -> (project kwargs, command flags, exit code, words of the message)
CASES = {
    "us_dates_in_occurred_at": (dict(events="customer_id,event_name,occurred_at\n1,signup,01/01/2025 00:22\n"),
                                (), 1, ["column `occurred_at` of events source `events`", "`01/01/2025 00:22`",
                                        "timestamp_format: '%m/%d/%Y %H:%M'"]),
    "us_dates_skip_checks": (dict(events="customer_id,event_name,occurred_at\n1,signup,01/01/2025 00:22\n"),
                             ("--skip-checks",), 1, ["`occurred_at`", "`01/01/2025 00:22`", "timestamp_format"]),
    "occurred_at_mapped_to_text": (dict(columns=", columns: {occurred_at: event_name}"), ("--skip-checks",), 1,
                                   ["column `event_name` of events source `events`", "sample value `signup`",
                                    "fix the mapping"]),
    "occurred_at_mapped_to_integers": (dict(columns=", columns: {occurred_at: customer_id}"), ("--skip-checks",),
                                       1, ["`customer_id`", "does not parse as a timestamp"]),
    "misspelt_events_column": (dict(columns=", columns: {customer_id: user_id}"), (), 2,
                               ["j.yml:2", "has no column `user_id`"]),
    "customers_without_signed_up_at": (dict(customers="customers: {from: customers}",
                                            customers_csv="customer_id,plan\n1,pro\n"), (), 2,
                                       ["j.yml:3", "customers source `customers` has no column `signed_up_at`"]),
    "misspelt_customers_column": (dict(customers="customers: {from: customers, columns: {signed_up_at: signedup}}",
                                       customers_csv="customer_id,signed_up\n1,2025-01-01\n"), (), 2,
                                  ["j.yml:3", "no column `signedup`", "did you mean `signed_up`?"]),
    "bad_timestamp_format": (dict(columns=", columns: {timestamp_format: '%d.%m.%Y'}"), ("--skip-checks",), 1,
                             ["`occurred_at`", "does not parse as a timestamp"]),
    "text_ids_against_integer_ids": (dict(events="customer_id,event_name,occurred_at\na1,signup,2025-01-01\n",
                                          customers="customers: {from: customers}",
                                          customers_csv="customer_id,signed_up_at\n1,2025-01-01\n"),
                                     # named at build start, before the journey runs (issue 11, item 8)
                                     ("--skip-checks",), 2, ["j.yml:", "VARCHAR", "BIGINT", "cast one"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_wrong_column_is_a_message_not_a_traceback(make_project, case):
    kwargs, flags, code, words = CASES[case]
    root = project(make_project, **kwargs)
    got, out = cli("build", *flags, project_dir=root)
    assert got == code, out
    for word in words:
        assert word in out, out
    assert results(root)["exit_code"] == code


def test_timestamp_format_reads_the_layout(make_project):
    events = "customer_id,event_name,occurred_at\n1,signup,01/31/2025 00:22\n2,signup,02/01/2025 10:00\n"
    root = project(make_project, events=events, columns=", columns: {timestamp_format: '%m/%d/%Y %H:%M'}")
    code, out = cli("build", project_dir=root)
    assert code == 0, out
    code, out = cli("show", "milestone_status", project_dir=root)
    assert "2025-01-31 00:22:00" in out and "2025-02-01 10:00:00" in out


# --- run_results.json in every outcome --------------------------------------------------------

def test_run_results_on_success(make_project):
    root = project(make_project)
    assert cli("build", project_dir=root)[0] == 0
    data = results(root)
    assert (data["status"], data["exit_code"], data["error"]) == ("success", 0, None)
    assert {r["name"]: r["status"] for r in data["results"]}["funnel"] == "success"
    assert data["checks"] and all(c["status"] == "pass" for c in data["checks"])


def test_run_results_on_failed_checks(make_project):
    extra = {"clg_project.yml": PROJECT + "checks:\n  events.j.event_names_occur: {severity: error}\n"}
    root = project(make_project, events=GOOD_EVENTS.replace("signup", "sign_up"), extra=extra)
    code, out = cli("build", project_dir=root)
    assert code == 1, out
    data = results(root)
    assert (data["status"], data["exit_code"]) == ("failed_checks", 1)
    assert "event_names_occur" in data["error"]
    assert any(c["name"] == "events.j.event_names_occur" and c["status"] == "fail" for c in data["checks"])


def test_run_results_on_failed_model(make_project):
    root = project(make_project, extra={"sql/broken.sql": "SELECT nosuch FROM events\n"})
    code, out = cli("build", project_dir=root)
    assert code == 1, out
    data = results(root)
    assert (data["status"], data["exit_code"]) == ("error", 1)
    statuses = {r["name"]: r["status"] for r in data["results"]}
    assert statuses["broken"] == "error" and statuses["funnel"] == "skipped"
    assert "broken.sql" in data["error"]


def test_run_results_on_configuration_error(make_project):
    root = project(make_project)
    assert cli("build", project_dir=root)[0] == 0
    (root / "milestones" / "j.yml").write_text("journey: j\nevents: {from: nosuch}\nphases: []\n")
    code, out = cli("build", project_dir=root)
    assert code == 2, out
    data = results(root)  # before: the previous run's results stayed
    assert (data["status"], data["exit_code"], data["results"]) == ("config_error", 2, [])
    assert "nosuch" in data["error"]


def test_run_results_on_interrupt(make_project, monkeypatch):
    from clg_metrics.phases import materialize

    real = materialize.run_model

    def interrupted(engine, model, *args):
        if model.kind == "journey":
            raise KeyboardInterrupt
        return real(engine, model, *args)

    monkeypatch.setattr(materialize, "run_model", interrupted)
    root = project(make_project)
    code, out = cli("build", project_dir=root)
    assert code == 1 and "Interrupted" in out, out
    data = results(root)
    assert (data["status"], data["exit_code"]) == ("interrupted", 1)
    statuses = {r["name"]: r["status"] for r in data["results"]}
    assert statuses == {"events": "success", "progress_leaves__j": "success", "progress__j": "error"}


def test_run_results_on_crash(make_project, monkeypatch):
    from clg_metrics.phases import materialize

    def crash(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(materialize, "run_model", crash)
    root = project(make_project)
    code, out = cli("build", project_dir=root)
    assert code == 1 and "internal error RuntimeError: boom" in out, out
    data = results(root)
    assert (data["status"], data["exit_code"]) == ("crashed", 1)
    assert data["results"] == [{"name": "events", "kind": "seed", "status": "error", "seconds": 0.0, "rows": None,
                                "message": "boom"}]


def test_json_log_format_errors_are_json(make_project):
    root = project(make_project, extra={"sql/broken.sql": "SELECT nosuch FROM events\n"})
    code, out = cli("build", "--log-format", "json", project_dir=root)
    assert code == 1
    records = [json.loads(line) for line in out.splitlines() if line.strip()]  # every line is JSON
    assert records[-1]["event"] == "error" and records[-1]["exit_code"] == 1
    (root / "clg_project.yml").write_text("name: [\n")
    code, out = cli("build", "--log-format", "json", project_dir=root)
    assert code == 2
    assert [json.loads(line)["event"] for line in out.splitlines() if line.strip()] == ["error"]


@pytest.mark.parametrize("flags, says", [
    (("--as-of", "0001-01-01"), "outside 1900-01-01 .. 2999-12-31"),
    (("--vars", "{as_of: 2024-02-30}"), "day is out of range for month"),
])
def test_as_of_out_of_range_is_a_usage_error(make_project, flags, says):
    root = project(make_project)
    code, out = cli("build", *flags, project_dir=root)
    assert code == 2 and says in out, out
