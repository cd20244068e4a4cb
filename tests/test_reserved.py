"""A seed or sql/ model named like a table clg-metrics owns is a located validation error.

Before, ``sql/progress__audience_research.sql`` was counted by ``validate`` and then never built
(the journey's progress model took its place), and ``sql/clg_state.sql`` failed at publish.
"""

from __future__ import annotations

import pytest

from clg_metrics.reserved import OUTPUT_TABLES, reserved_name_problem
from conftest import cli

EVENTS_CSV = "customer_id,event_name,occurred_at\n1,signup,2024-01-01 10:00:00\n"
JOURNEY = ("journey: j\nevents: {from: events}\nphases:\n  - phase: p\n    milestones:\n"
           "      - milestone: signed_up\n        reached_when: {event: signup}\n")

RESERVED = ["milestone_status", "customer_progress", "funnel", "dq_results", "segment_members", "segment_funnel",
            "success_gaps", "win_back", "cohort_funnel", "kpi_trend", "period_kpis", "job_themes", "job_statements",
            "progress__j", "progress__audience_research", "progress_leaves__j", "progress_periods__j__1",
            "clg_state", "clg_builds", "__clg_next__stg_events",
            "__clg_tmp", "Clg_State"]


@pytest.mark.parametrize("name", RESERVED)
@pytest.mark.parametrize("kind", ["sql", "seed"])
def test_a_reserved_name_is_a_located_error(make_project, name, kind):
    rel = f"sql/{name}.sql" if kind == "sql" else f"seeds/{name}.csv"
    body = "SELECT 1 AS n\n" if kind == "sql" else "n\n1\n"
    root = make_project({"seeds/events.csv": EVENTS_CSV, "milestones/j.yml": JOURNEY, rel: body})
    for command in ("validate", "build"):
        code, output = cli(command, project_dir=root)
        assert code == 2, output
        assert f"{root / rel}:1: `{name.lower()}` " in output, output
        assert ("a sql/ model" if kind == "sql" else "a seed") + " cannot have this name" in output
        assert "(rename " in output, output
    assert not (root / "target" / "test.duckdb").exists()  # refused before any database was opened


@pytest.mark.parametrize("name", ["stg_events", "progress", "my_progress__x", "clg", "clg_state_copy", "funnels",
                                  "_clg", "x__clg"])
def test_names_close_to_reserved_ones_are_free(name):
    assert reserved_name_problem(name) is None


def test_the_rule_covers_the_names_the_build_uses():
    """The prefixes and tables of the DAG, the runner and the incremental state all count as reserved."""
    from clg_metrics.checks.results import DQ_TABLE
    from clg_metrics.checks.state import CHECK_STATE_TABLE, ids_table
    from clg_metrics.compiler.leaves import leaves_model_name, periods_model_name
    from clg_metrics.incremental import STATE_TABLE
    from clg_metrics.models import PROGRESS_PREFIX
    from clg_metrics.runner import STAGED_PREFIX

    for name in (DQ_TABLE, STATE_TABLE, CHECK_STATE_TABLE, ids_table("events", "events.customer_id.in_customers"),
                 PROGRESS_PREFIX + "j", leaves_model_name("j"), periods_model_name("j", 2), STAGED_PREFIX + "funnel",
                 *OUTPUT_TABLES):
        assert reserved_name_problem(name), name


def test_the_demo_build_journey_progress_model_is_not_shadowed(make_project):
    # what used to happen: validate said OK and counted the model, the build silently skipped it
    root = make_project({"seeds/events.csv": EVENTS_CSV, "milestones/j.yml": JOURNEY,
                         "sql/progress__j.sql": "SELECT 1 AS customer_id\n"})
    code, output = cli("validate", project_dir=root)
    assert code == 2 and "OK:" not in output, output
    assert "reserves for a journey's progress model" in output
