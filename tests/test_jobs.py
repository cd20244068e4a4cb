"""SPEC §5, jobs to be done: ``job_themes`` and ``job_statements`` from coded survey answers.

The expectations are worked out by hand from the survey below (the comments show the sets), and
every case runs on DuckDB, PostgreSQL and Spark (``run_journey``: each engine equal to DuckDB).
"""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import pytest
from conftest import cli, copy_demo
from test_errors import invalid, position

from clg_metrics.compiler import OUTPUTS_BY_NAME
from clg_metrics.loader import load_project
from clg_metrics.models import build_dag

AS_OF = datetime(2024, 2, 1)
JOURNEY = {
    "journey": "j",
    "phases": [{"phase": "p", "milestones": [
        {"milestone": "a", "reached_when": {"event": "x"}},
        {"milestone": "b", "reached_when": {"event": "y"}},  # the value milestone by default (the last)
    ]}],
}


def ev(customer_id: int, name: str, day: int) -> dict:
    return {"customer_id": customer_id, "event_name": name, "occurred_at": datetime(2024, 1, day, 12)}


# In the journey: 1..4, all reached a; 1 and 3 reached b. 6 and 9 answered but have no events.
EVENTS = [ev(1, "x", 1), ev(1, "y", 2), ev(2, "x", 1), ev(3, "x", 1), ev(3, "y", 3), ev(4, "x", 1)]


def row(customer_id, struggle, motivation, outcome) -> dict:
    return {"customer_id": customer_id, "struggle": struggle, "motivation": motivation, "outcome": outcome}


SURVEY = [
    row(1, "plan", "find", "prove"),
    row(1, "plan", "find", None),      # the same themes again: 1 still counts once
    row(1, "pitch", "size", "win"),    # 1 has two struggles; its `size` counts for `plan` too
    row(2, "plan", "size", "prove"),
    row(3, "pitch", "find", None),
    row(9, "plan", None, "win"),       # a respondent who is not in the journey
    row(None, "plan", "find", "prove"),  # no customer: ignored
    row(4, "report", None, None),      # no motivation or outcome in any of 4's rows
    row(9, None, "compare", None),
    row(6, None, None, None),          # a respondent without a single theme
    row(3, "audit", None, "win"),
]
# Respondents {1, 2, 3, 4, 6, 9} = 6. Per respondent, over all rows:
#   1: S {plan, pitch}  M {find, size}  O {prove, win}      2: S {plan}  M {size}  O {prove}
#   3: S {pitch, audit} M {find}        O {win}             4: S {report}
#   6: nothing                                              9: S {plan}  M {compare}  O {win}
THEMES = {  # (kind, theme): (respondents, pct_of_respondents, reached_value_pct over those present)
    ("struggle", "plan"): (3, 50.0, 50.0),        # {1, 2, 9}; present {1, 2}; reached b: {1}
    ("struggle", "pitch"): (2, 33.33, 100.0),     # {1, 3}
    ("struggle", "audit"): (1, 16.67, 100.0),     # {3}
    ("struggle", "report"): (1, 16.67, 0.0),      # {4}, present, b not reached
    ("motivation", "find"): (2, 33.33, 100.0),    # {1, 3}: 1 counted once over its two `find` rows
    ("motivation", "size"): (2, 33.33, 50.0),     # {1, 2}
    ("motivation", "compare"): (1, 16.67, None),  # {9}: no one of them in the journey
    ("outcome", "prove"): (2, 33.33, 50.0),       # {1, 2}
    ("outcome", "win"): (3, 50.0, 100.0),         # {1, 3, 9}; present {1, 3}
}
STATEMENTS = [  # (rank, struggle, respondents, motivation, n, outcome, n, statement)
    # plan {1, 2, 9}: M find 1 (1), size 2 (1, 2), compare 1 (9); O prove 2, win 2: tie, `prove` < `win`
    (1, "plan", 3, "size", 2, "prove", 2, "When I plan, help me size, so I can prove"),
    # pitch {1, 3}: M find 2, size 1; O prove 1 (1), win 2 (1, 3)
    (2, "pitch", 2, "find", 2, "win", 2, "When I pitch, help me find, so I can win"),
    # audit and report have 1 respondent each: by theme ascending
    (3, "audit", 1, "find", 1, "win", 1, "When I audit, help me find, so I can win"),
    (4, "report", 1, None, None, None, None, "When I report, help me …, so I can …"),
]


def themes(out: dict) -> dict:
    return {(r["kind"], r["theme"]): (r["respondents"], r["pct_of_respondents"], r["reached_value_pct"])
            for r in out["job_themes"]}


def statements(out: dict) -> list[tuple]:
    rows = sorted(out["job_statements"], key=lambda r: r["rank"])
    assert {r["journey"] for r in rows} <= {"j"}
    return [(r["rank"], r["struggle"], r["respondents"], r["motivation"], r["motivation_respondents"],
             r["outcome"], r["outcome_respondents"], r["statement"]) for r in rows]


def test_job_themes_hand_worked(run_journey):
    out = run_journey(JOURNEY, EVENTS, None, AS_OF, survey=SURVEY)
    assert themes(out) == THEMES
    assert len(out["job_themes"]) == len(THEMES)  # NULL themes get no row
    assert {r["journey"] for r in out["job_themes"]} == {"j"}
    assert all(r["benchmark_respondents"] is None for r in out["job_themes"])  # no segments


def test_job_statements_hand_worked(run_journey):
    out = run_journey(JOURNEY, EVENTS, None, AS_OF, survey=SURVEY)
    assert statements(out) == STATEMENTS


def test_value_milestone_setting_and_text_ids(run_journey):
    """``analysis.value_milestone: a`` (reached by everyone present), and a mapped survey whose
    customer ids are text: '1' is customer 1 of the events."""
    journey = {**JOURNEY, "analysis": {"value_milestone": "a"},
               "survey": {"columns": {"customer_id": "who", "struggle": "s", "motivation": "m", "outcome": "o"}}}
    survey = [{"who": None if r["customer_id"] is None else str(r["customer_id"]), "s": r["struggle"],
               "m": r["motivation"], "o": r["outcome"]} for r in SURVEY]
    out = run_journey(journey, EVENTS, None, AS_OF, survey=survey)
    expected = {key: (n, pct, None if reached is None else 100.0) for key, (n, pct, reached) in THEMES.items()}
    assert themes(out) == expected
    assert statements(out) == STATEMENTS


def test_theme_ties_and_byte_order(run_journey):
    """Equal counts go to the theme first in byte order on every engine: `Zoom` before `apple`
    (a linguistic collation would put `apple pie` first)."""
    survey = [row(1, "apple", "Zoom", "b"), row(2, "apple", "apple", "a"), row(3, "Zoom", "apple pie", None),
              row(4, "apple pie", None, None)]
    out = run_journey(JOURNEY, EVENTS, None, AS_OF, survey=survey)
    assert [(r[0], r[1], r[3], r[5]) for r in statements(out)] == [
        (1, "apple", "Zoom", "a"), (2, "Zoom", "apple pie", None), (3, "apple pie", None, None)]


def test_without_survey_tables_are_empty_and_typed(run_journey):
    out = run_journey(JOURNEY, EVENTS, None, AS_OF)
    assert out["job_themes"] == [] and out["job_statements"] == []


def test_empty_survey(run_journey):
    out = run_journey(JOURNEY, EVENTS, None, AS_OF, survey=[row(None, "plan", "find", "prove")])
    assert out["job_themes"] == [] and out["job_statements"] == []


needs_segment_members = pytest.mark.xfail(
    "segment_members" not in OUTPUTS_BY_NAME, reason="needs segment_members", strict=False)


@needs_segment_members
def test_benchmark_respondents(run_journey):
    """Members of the benchmark (the first segment, `best`: reached b) = {1, 3}."""
    journey = {**JOURNEY, "segments": [{"segment": "other", "when": {"milestone": "a"}},
                                       {"segment": "best", "when": {"milestone": "b"}}],
               "analysis": {"benchmark": "best"}}
    out = run_journey(journey, EVENTS, None, AS_OF, survey=SURVEY)
    benchmark = {(r["kind"], r["theme"]): r["benchmark_respondents"] for r in out["job_themes"]}
    assert benchmark == {("struggle", "plan"): 1, ("struggle", "pitch"): 2, ("struggle", "audit"): 1,
                         ("struggle", "report"): 0, ("motivation", "find"): 2, ("motivation", "size"): 1,
                         ("motivation", "compare"): 0, ("outcome", "prove"): 1, ("outcome", "win"): 2}
    assert themes(out) == THEMES


# --- the source in a project: validation, the DAG, the demo --------------------------------------

SURVEY_CSV = "user_ref,s,m,o\n1,plan,find,prove\n"
PROJECT_JOURNEY = """\
journey: j
events:
  from: events
survey:
  from: {source}
  columns: {{customer_id: user_ref, struggle: s, motivation: m, outcome: {outcome}}}
analysis: {{value_milestone: {value}}}
phases:
  - phase: p
    milestones:
      - milestone: first
        reached_when: {{event: search}}
"""


def test_unknown_survey_source_is_located(make_project):
    text = PROJECT_JOURNEY.format(source="survey_answer", outcome="o", value="first")
    result = invalid(make_project, {"milestones/j.yml": text, "seeds/survey_answers.csv": SURVEY_CSV})
    problem = result.problem_at("milestones/j.yml", *position(text, "survey_answer"))
    assert "unknown survey source `survey_answer`" in problem.message
    assert problem.hint == "did you mean `survey_answers`?"


def test_unknown_value_milestone_is_located(make_project):
    text = PROJECT_JOURNEY.format(source="survey_answers", outcome="o", value="frist")
    result = invalid(make_project, {"milestones/j.yml": text, "seeds/survey_answers.csv": SURVEY_CSV})
    problem = result.problem_at("milestones/j.yml", *position(text, "frist"))
    assert "unknown value milestone `frist`" in problem.message
    assert problem.hint == "did you mean `first`?"


def test_missing_survey_column_is_located(make_project):
    from test_errors import EVENTS_CSV

    text = PROJECT_JOURNEY.format(source="survey_answers", outcome="outcome", value="first")
    root = make_project({"milestones/j.yml": text, "seeds/survey_answers.csv": SURVEY_CSV, "seeds/events.csv": EVENTS_CSV})
    line, column = position(text, "outcome", occurrence=2, line_hint="columns")
    for command in ("validate", "build"):
        code, output = cli(command, project_dir=root)
        assert code == 2, output
        assert f"j.yml:{line}:{column}:" in output, output
        assert "survey source `survey_answers` has no column `outcome` (for `outcome`)" in output
        assert "did you mean `o`?" in output or "its columns: user_ref, s, m, o" in output


def test_survey_is_a_dependency_of_the_job_tables(make_project):
    from test_errors import EVENTS_CSV

    text = PROJECT_JOURNEY.format(source="survey_answers", outcome="o", value="first")
    root = make_project({"milestones/j.yml": text, "seeds/survey_answers.csv": SURVEY_CSV, "seeds/events.csv": EVENTS_CSV})
    dag = build_dag(load_project(root), AS_OF)
    for name in ("job_themes", "job_statements"):
        assert "survey_answers" in dag.models[name].depends_on
    assert "survey_answers" not in dag.models["funnel"].depends_on
    names = [m.name for m in dag.ordered()]
    assert names.index("survey_answers") < names.index("job_statements")


def test_demo_top_job_statement_reads_like_the_journey_job(tmp_path):
    """The demo's survey: about a hundred respondents, best customers among them, and the top
    statement is the journey's `job:` text."""
    root = copy_demo(tmp_path / "demo")
    database = tmp_path / "demo.duckdb"
    (root / "profiles.yml").write_text(json.dumps({"clg_metrics": {"target": "dev", "outputs": {
        "dev": {"type": "duckdb", "path": str(database), "threads": 1}}}}))
    code, output = cli("build", project_dir=root)
    assert code == 0, output
    with duckdb.connect(str(database), read_only=True) as con:
        top = con.execute("SELECT statement, respondents FROM job_statements WHERE rank = 1").fetchall()
        respondents = con.execute("SELECT COUNT(DISTINCT user_id) FROM raw_survey").fetchone()[0]
        value = con.execute("SELECT reached_value_pct FROM job_themes WHERE kind = 'struggle' "
                            "AND theme = 'plan a campaign for a client'").fetchone()[0]
    assert top[0][0] == ("When I plan a campaign for a client, help me find where their audience pays attention, "
                         "so I can prove the plan to my boss")
    assert 80 <= respondents <= 120
    assert value > 50  # the job is read from customers who got the value


def test_demo_survey_seed_is_regenerated_deterministically(tmp_path):
    """The committed ``raw_survey.csv`` is what the generator writes from the committed seeds, the
    same bytes every time; ``write_demo_seeds`` writes it too, for a smaller demo as well."""
    import shutil

    from conftest import REPO_ROOT

    from clg_metrics.demo_data import write_demo_seeds
    from clg_metrics.demo_survey import SURVEY_FILE, write_demo_survey

    seeds = tmp_path / "seeds"
    shutil.copytree(REPO_ROOT / "seeds", seeds)
    committed = (seeds / SURVEY_FILE).read_bytes()
    assert write_demo_survey(seeds).read_bytes() == committed
    assert write_demo_survey(seeds, seed=8).read_bytes() != committed
    for name in ("a", "b"):
        write_demo_seeds(tmp_path / name, customers=400, seed=3)
    small = (tmp_path / "a" / SURVEY_FILE).read_bytes()
    assert small == (tmp_path / "b" / SURVEY_FILE).read_bytes() and small.count(b"\n") > 20
