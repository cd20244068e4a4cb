"""The ``clg-metrics`` command line, end to end on small projects (click's CliRunner, and once the
real console script in a subprocess).

Every project here has ``seeds/events.csv`` (customer_id, event_name, occurred_at) and one journey
in ``milestones/``; numbers in the funnel are computed by hand from that tiny data set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from clg_metrics.compiler import OUTPUT_NAMES
from conftest import cli

REPO_ROOT = Path(__file__).resolve().parent.parent

# as_of 2024-03-01 (the project var), sequential journey signed_up -> searched (2 searches) -> exported.
#   c1: signup 01-01 00:00, 2nd search 01-03 00:00 (2.0 days later), export 01-04 12:00 (1.5 days later)
#   c2: signup 01-01 00:00, 2nd search 01-06 00:00 (5.0 days later), no export
#   c3: signup 01-02 00:00, only one search; an export that does not count (searched not reached)
#   c4: two searches but no signup: reaches nothing under `sequential`
EVENTS_CSV = """\
customer_id,event_name,occurred_at
1,signup,2024-01-01 00:00:00
1,search,2024-01-02 00:00:00
1,search,2024-01-03 00:00:00
1,export,2024-01-04 12:00:00
2,signup,2024-01-01 00:00:00
2,search,2024-01-05 00:00:00
2,search,2024-01-06 00:00:00
3,signup,2024-01-02 00:00:00
3,search,2024-01-02 06:00:00
3,export,2024-01-03 00:00:00
4,search,2024-01-01 00:00:00
4,search,2024-01-02 00:00:00
"""

JOURNEY = """\
journey: onboarding
description: New accounts getting to their first export
events:
  from: events
phases:
  - phase: start
    milestones:
      - milestone: signed_up
        kpi: Accounts created
        reached_when: {event: signup}
      - milestone: searched
        reached_when: {event: search, at_least: 2}
  - phase: value
    milestones:
      - milestone: exported
        reached_when: {event: export}
"""

PROJECT_YML = """\
name: test_project
profile: test
vars:
  as_of: "2024-03-01 00:00:00"
"""

# (milestone_index, milestone, customers_reached, pct_of_first, pct_of_previous, dropped, median_days)
EXPECTED_FUNNEL = [
    (1, "signed_up", 3, Decimal("100.00"), None, None, None),
    (2, "searched", 2, Decimal("66.67"), Decimal("66.67"), 1, Decimal("3.50")),
    (3, "exported", 1, Decimal("33.33"), Decimal("50.00"), 1, Decimal("1.50")),
]
# the seed, the journey's progress model, then every output table of the registry (SPEC §3, §5 ...)
MODELS = ["events", "progress_leaves__onboarding", "progress__onboarding", *OUTPUT_NAMES]
assert {"milestone_status", "customer_progress", "funnel"} <= set(OUTPUT_NAMES)
COMMANDS = ["init", "validate", "compile", "seed", "build", "show", "ls"]


@pytest.fixture
def project(make_project):
    return make_project({"clg_project.yml": PROJECT_YML, "seeds/events.csv": EVENTS_CSV,
                         "milestones/onboarding.yml": JOURNEY})


def read_table(root: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def funnel_rows(root: Path) -> list[tuple]:
    return read_table(root, "SELECT milestone_index, milestone, customers_reached, pct_of_first, "
                            "pct_of_previous, dropped_from_previous, median_days_from_previous FROM funnel "
                            "WHERE journey = 'onboarding' ORDER BY milestone_index")


def as_numbers(rows):
    """Rows with numbers as Decimal rounded to 2 places, so DECIMAL and DOUBLE columns compare alike."""
    def norm(v):
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int):
            return v
        return Decimal(str(v)).quantize(Decimal("0.01"))
    return [tuple(norm(v) for v in row) for row in rows]


# --- help ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_has_an_example(command):
    code, output = cli(*([command] if command else []), "--help")
    assert code == 0
    assert "Example" in output


# --- validate / compile / ls ----------------------------------------------------------------------

def test_validate_ok(project):
    code, output = cli("validate", project_dir=project)
    assert code == 0, output
    assert "OK" in output
    assert "1 journeys" in output and "3 milestones" in output and "1 seeds" in output


def test_compile_writes_sql_and_manifest(project):
    code, output = cli("compile", project_dir=project)
    assert code == 0, output
    target = project / "target"
    progress_sql = target / "compiled" / "journey" / "progress__onboarding.sql"
    assert progress_sql.is_file()
    assert "select" in progress_sql.read_text().lower()
    for name in ("milestone_status", "customer_progress", "funnel"):
        sql = target / "compiled" / "output" / f"{name}.sql"
        assert sql.is_file(), f"missing {sql}"
        assert "progress__onboarding" in sql.read_text()
    manifest = json.loads((target / "manifest.json").read_text())
    models = manifest["models"]
    assert set(MODELS) <= set(models)
    # the journey's leaf state is read from the events, the progress model from the leaf state
    assert models["progress_leaves__onboarding"]["depends_on"] == ["events"]
    assert models["progress_leaves__onboarding"]["kind"] == "leaves"
    assert models["progress__onboarding"]["depends_on"] == ["events", "progress_leaves__onboarding"]
    assert models["progress__onboarding"]["kind"] == "journey"
    assert models["progress__onboarding"]["compiled_sql"] == progress_sql.read_text().rstrip().rstrip(";")
    for name in ("milestone_status", "customer_progress", "funnel"):
        assert models[name]["depends_on"] == ["progress__onboarding"]
        assert models[name]["compiled_sql"]
    assert models["events"]["kind"] == "seed"
    assert models["events"]["compiled_sql"] is None
    # compile needs no database
    assert not (target / "test.duckdb").exists()


def test_ls_lists_models_in_build_order(project):
    code, output = cli("ls", project_dir=project)
    assert code == 0, output
    lines = output.splitlines()
    positions = {}
    for name in MODELS:
        hits = [i for i, line in enumerate(lines) if line.split()[1:2] == [name]]
        assert hits, f"{name} not listed:\n{output}"
        positions[name] = hits[0]
    assert positions["events"] < positions["progress__onboarding"] < positions["funnel"]
    assert positions["progress__onboarding"] < positions["milestone_status"]
    progress_line = lines[positions["progress__onboarding"]]
    assert progress_line.rstrip().endswith("events, progress_leaves__onboarding")


# --- seed / build / show ------------------------------------------------------------------------

def test_seed_loads_the_csv(project):
    code, output = cli("seed", project_dir=project)
    assert code == 0, output
    assert "events" in output
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    assert [(r["name"], r["status"], r["rows"]) for r in results] == [("events", "success", 12)]
    assert read_table(project, "SELECT count(*) FROM events") == [(12,)]


def test_build_publishes_hand_computed_funnel(project):
    code, output = cli("build", project_dir=project)
    assert code == 0, output
    assert "2024-03-01" in output

    results = json.loads((project / "target" / "run_results.json").read_text())
    by_name = {r["name"]: r for r in results["results"]}
    assert set(by_name) == set(MODELS)
    for name in MODELS:
        assert by_name[name]["status"] == "success", by_name[name]
        assert isinstance(by_name[name]["rows"], int)
    assert by_name["events"]["rows"] == 12
    assert by_name["progress__onboarding"]["rows"] == 4  # one row per customer
    assert by_name["milestone_status"]["rows"] == 12  # 4 customers x 3 milestones
    assert by_name["customer_progress"]["rows"] == 4
    assert by_name["funnel"]["rows"] == 3

    assert as_numbers(funnel_rows(project)) == EXPECTED_FUNNEL
    assert read_table(project, "SELECT kpi FROM funnel WHERE milestone_index = 1") == [("Accounts created",)]
    # c3's export does not count: under `sequential` it has not reached `searched`
    status = read_table(project, "SELECT customer_id, status FROM milestone_status "
                                 "WHERE milestone = 'exported' ORDER BY customer_id")
    assert [s for _, s in status] == ["reached", "in_progress", "not_eligible", "not_eligible"]
    # the manifest is written by build too
    assert (project / "target" / "manifest.json").is_file()


def test_show_funnel_prints_milestones(project):
    assert cli("build", project_dir=project)[0] == 0
    code, output = cli("show", "funnel", project_dir=project)
    assert code == 0, output
    for name in ("signed_up", "searched", "exported", "customers_reached"):
        assert name in output
    assert "66.67" in output
    assert output.index("signed_up") < output.index("searched") < output.index("exported")


def test_show_unknown_table(project):
    assert cli("build", project_dir=project)[0] == 0
    code, output = cli("show", "nosuch", project_dir=project)
    assert code == 2
    assert "nosuch" in output and "funnel" in output  # lists what exists
    code, output = cli("show", "funel", project_dir=project)
    assert code == 2
    assert "did you mean `funnel`?" in output


def test_show_before_any_build(project):
    code, output = cli("show", "funnel", project_dir=project)
    assert code == 2
    assert "build" in output


# --- options ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["notadate", "2024-13-45", "yesterday"])
def test_bad_as_of(project, value):
    code, output = cli("build", "--as-of", value, project_dir=project)
    assert code == 2
    assert "--as-of" in output and value in output and "ISO" in output
    assert not (project / "target" / "test.duckdb").exists() or funnel_rows(project) == []


def test_as_of_flag_wins_over_project_var(project):
    assert cli("build", "--as-of", "2024-01-05", project_dir=project)[0] == 0
    # events at or before 2024-01-05 00:00: c1 done (search #2 on 01-03, export 01-04), c2 one search only
    assert [r[2] for r in funnel_rows(project)] == [3, 1, 1]


def test_select_unknown_journey(project):
    code, output = cli("build", "--select", "onbording", project_dir=project)
    assert code == 2
    assert "--select" in output and "did you mean `onboarding`?" in output
    code, output = cli("build", "--select", "nosuch", project_dir=project)
    assert code == 2
    assert "nosuch" in output and "onboarding" in output


def test_select_known_journey(project):
    code, output = cli("build", "--select", "onboarding", project_dir=project)
    assert code == 0, output
    assert as_numbers(funnel_rows(project)) == EXPECTED_FUNNEL


def test_vars_change_the_result(project):
    assert cli("build", project_dir=project)[0] == 0
    assert [r[2] for r in funnel_rows(project)] == [3, 2, 1]
    code, output = cli("build", "--vars", "{as_of: 2024-01-05}", project_dir=project)
    assert code == 0, output
    assert "2024-01-05" in output
    assert [r[2] for r in funnel_rows(project)] == [3, 1, 1]
    results = json.loads((project / "target" / "run_results.json").read_text())
    assert results["metadata"]["as_of"].startswith("2024-01-05")


def test_vars_not_a_mapping(project):
    code, output = cli("build", "--vars", "just text", project_dir=project)
    assert code == 2
    assert "--vars" in output


def test_no_project_here(tmp_path):
    code, output = cli("validate", project_dir=tmp_path)
    assert code == 2
    assert "milestones" in output and "init" in output


# --- failing builds -----------------------------------------------------------------------------

def test_failing_sql_model_keeps_previous_outputs(project):
    code, output = cli("build", project_dir=project)
    assert code == 0, output
    before = funnel_rows(project)
    assert as_numbers(before) == EXPECTED_FUNNEL

    (project / "sql").mkdir()
    (project / "sql" / "broken.sql").write_text("SELECT customer_id, no_such_column FROM events\n")
    # a different as_of would change the funnel if anything were published
    code, output = cli("build", "--as-of", "2024-01-05", project_dir=project)
    assert code == 1, output
    assert "broken" in output and "no_such_column" in output
    assert "nothing was published" in output

    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    by_name = {r["name"]: r for r in results}
    assert by_name["broken"]["status"] == "error"
    assert "no_such_column" in by_name["broken"]["message"]
    assert all(r["status"] in ("success", "error", "skipped") for r in results)
    assert by_name["funnel"]["status"] == "skipped"

    assert funnel_rows(project) == before
    leftovers = read_table(project, "SELECT table_name FROM information_schema.tables "
                                    "WHERE table_name LIKE '%clg_next%'")
    assert leftovers == []
    # show still serves the last good funnel
    code, output = cli("show", "funnel", project_dir=project)
    assert code == 0 and "66.67" in output


def test_invalid_spec_fails_build_without_touching_outputs(project):
    assert cli("build", project_dir=project)[0] == 0
    before = funnel_rows(project)
    (project / "milestones" / "onboarding.yml").write_text(JOURNEY.replace("at_least: 2", "at_lest: 2"))
    code, output = cli("build", project_dir=project)
    assert code == 2
    assert "at_lest" in output and "did you mean `at_least`?" in output
    assert funnel_rows(project) == before


# --- init ---------------------------------------------------------------------------------------

def test_init_then_build(tmp_path):
    if not any((REPO_ROOT / "seeds").glob("*.csv")):
        pytest.skip("the demo seeds are not in the repository yet (seeds/ is empty)")
    directory = tmp_path / "my_project"
    code, output = cli("init", str(directory))
    assert code == 0, output
    assert (directory / "clg_project.yml").is_file()
    assert any((directory / "milestones").glob("*.yml"))
    code, output = cli("build", project_dir=directory)
    assert code == 0, output
    code, output = cli("show", "funnel", project_dir=directory)
    assert code == 0, output


def test_init_refuses_a_used_folder(tmp_path):
    directory = tmp_path / "used"
    (directory / "milestones").mkdir(parents=True)
    code, output = cli("init", str(directory))
    assert code == 2
    assert "milestones" in output


def test_init_blank_validates_and_builds(tmp_path):
    directory = tmp_path / "My New-Project"
    code, output = cli("init", "--blank", str(directory))
    assert code == 0, output
    files = sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())
    assert files == [".gitignore", "clg_project.yml", "milestones/onboarding.yml", "profiles.yml", "seeds/events.csv"]
    assert "name: my_new_project" in (directory / "clg_project.yml").read_text()
    code, output = cli("validate", project_dir=directory)
    assert code == 0, output
    assert "1 journeys, 2 milestones, 0 sql models, 1 seeds" in output
    code, output = cli("build", project_dir=directory)
    assert code == 0, output
    assert "FAIL" not in output and "(0 warnings)" in output, output
    assert (directory / "target" / "clg.duckdb").exists()
    code, output = cli("show", "funnel", project_dir=directory)
    assert code == 0, output
    assert "first_report" in output, output
    with duckdb.connect(str(directory / "target" / "clg.duckdb"), read_only=True) as con:
        funnel = con.execute("SELECT milestone, customers_reached FROM funnel ORDER BY milestone_index").fetchall()
    assert funnel == [("signed_up", 3), ("first_report", 2)]


@pytest.mark.parametrize("blank", [True, False])
def test_init_writes_a_gitignore(tmp_path, blank):
    directory = tmp_path / "p"
    code, output = cli("init", *(["--blank"] if blank else []), str(directory))
    assert code == 0, output
    ignored = (directory / ".gitignore").read_text().splitlines()
    for entry in ("target/", ".venv/", "__pycache__/", ".env"):
        assert entry in ignored
    assert "profiles.yml" not in ignored  # it holds env_var() calls, not secrets, and belongs to the project


def test_init_keeps_an_existing_gitignore(tmp_path):
    directory = tmp_path / "repo"
    directory.mkdir()
    (directory / ".gitignore").write_text("mine\n")
    code, output = cli("init", "--blank", str(directory))
    assert code == 0, output
    assert (directory / ".gitignore").read_text() == "mine\n"
    assert (directory / "milestones" / "onboarding.yml").is_file()


def test_init_blank_refuses_a_used_folder(tmp_path):
    directory = tmp_path / "used"
    directory.mkdir()
    (directory / "clg_project.yml").write_text("name: mine\n")
    code, output = cli("init", "--blank", str(directory))
    assert code == 2, output
    assert "clg_project.yml" in output
    assert (directory / "clg_project.yml").read_text() == "name: mine\n"


# --- the real console script --------------------------------------------------------------------

def _console_script() -> str:
    local = Path(sys.executable).parent / "clg-metrics"
    if local.exists():
        return str(local)
    found = shutil.which("clg-metrics")
    if found is None:
        pytest.skip("the clg-metrics console script is not installed")
    return found


def test_console_script_exit_codes(project):
    script = _console_script()
    env = {k: v for k, v in os.environ.items() if k not in ("CLG_PROFILES_DIR", "CLG_DUCKDB_PATH")}

    def run(*args):
        return subprocess.run([script, *args, "--project-dir", str(project)], capture_output=True, text=True,
                              env=env, timeout=300)

    ok = run("build")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Traceback" not in ok.stdout + ok.stderr
    assert as_numbers(funnel_rows(project)) == EXPECTED_FUNNEL

    bad = run("build", "--as-of", "notadate")
    assert bad.returncode == 2
    assert "--as-of" in bad.stderr
    assert "Traceback" not in bad.stdout + bad.stderr

    unknown = run("show", "nosuch")
    assert unknown.returncode == 2
    assert "Traceback" not in unknown.stdout + unknown.stderr
