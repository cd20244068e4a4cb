"""Every validation error names the file, the line and column, and what to change — and exits 2.

Each test writes a small project whose faulty spot sits on a known line of the YAML text, then
checks both the CLI (``clg-metrics validate``: exit code 2, one line per problem, no traceback)
and the library (``load_project`` raises ``SpecError`` whose problems carry path, line, column
and hint).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from clg_metrics.errors import ProfileError, SpecError
from clg_metrics.loader import load_project
from conftest import cli

EVENTS_CSV = ("customer_id,event_name,occurred_at\n"
              "1,signup,2024-01-01 10:00:00\n1,search,2024-01-02 10:00:00\n")

HEAD = """\
journey: j
events:
  from: events
"""


def position(text: str, needle: str, occurrence: int = 1, line_hint: str | None = None) -> tuple[int, int]:
    """1-based (line, column) of the ``occurrence``-th ``needle`` in ``text``.

    With ``line_hint``, only lines containing it are considered (e.g. the value after a key).
    """
    seen = 0
    for number, line in enumerate(text.splitlines(), 1):
        if line_hint is not None and line_hint not in line:
            continue
        start = 0
        while (index := line.find(needle, start)) != -1:
            seen += 1
            if seen == occurrence:
                return number, index + 1
            start = index + 1
    raise AssertionError(f"{needle!r} not in the text")


class Invalid:
    """A project whose validation fails: the CLI output and the library's problems."""

    def __init__(self, root: Path, output: str, problems):
        self.root, self.output, self.problems = root, output, problems

    def problem_at(self, rel: str, line: int, column: int | None = None):
        path = self.root / rel
        matches = [p for p in self.problems if Path(p.path) == path and p.line == line
                   and (column is None or p.column == column)]
        assert matches, f"no problem at {rel}:{line}:{column}; got:\n" + "\n".join(map(str, self.problems))
        where = f"{path}:{line}:" + (f"{column}:" if column is not None else "")
        assert where in self.output, f"{where!r} not in the CLI output:\n{self.output}"
        return matches[0]


def invalid(make_project, files: dict[str, str | bytes]) -> Invalid:
    """Write the project, assert `validate` exits 2 and `load_project` raises SpecError."""
    text_files = {k: v for k, v in files.items() if isinstance(v, str)}
    root = make_project({"seeds/events.csv": EVENTS_CSV, **text_files})
    for rel, data in files.items():
        if isinstance(data, bytes):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
    code, output = cli("validate", project_dir=root)
    assert code == 2, output
    assert output.startswith("Error")
    with pytest.raises(SpecError) as info:
        load_project(root)
    assert info.value.exit_code == 2
    return Invalid(root, output, info.value.problems)


def journey(body: str) -> str:
    return HEAD + body


# --- unknown keys -------------------------------------------------------------------------------

def test_unknown_key_in_flow_mapping_did_you_mean(make_project):
    text = journey("""\
phases:
  - phase: p
    milestones:
      - milestone: a
        reached_when: {event: search, at_lest: 5}
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, "at_lest")
    problem = result.problem_at("milestones/j.yml", line, col)
    assert "unknown key `at_lest`" in problem.message
    assert problem.hint == "did you mean `at_least`?"
    assert "did you mean `at_least`?" in result.output


def test_unknown_key_in_block_mapping_did_you_mean(make_project):
    text = journey("""\
phases:
  - phase: p
    milestones:
      - milestone: a
        reached_when:
          all:
            - {event: signup}
            - any:
                - event: search
                  at_lest: 2
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, "at_lest")
    problem = result.problem_at("milestones/j.yml", line, col)
    assert problem.hint == "did you mean `at_least`?"


def test_unknown_key_in_within(make_project):
    text = journey("""\
phases:
  - phase: p
    milestones:
      - milestone: a
        reached_when: {event: signup}
      - milestone: b
        reached_when: {event: search}
        within: {dyas: 3, of: previous}
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, "dyas")
    assert result.problem_at("milestones/j.yml", line, col).hint == "did you mean `days`?"


def test_unknown_key_hint_is_a_key_valid_at_that_place(make_project):
    text = journey("""\
phases:
  - phase: p
    milestone:
      - milestone: a
        reached_when: {event: signup}
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, "milestone:")  # the phase's key, line 6
    problem = result.problem_at("milestones/j.yml", line, col)
    assert "unknown key `milestone`" in problem.message
    assert problem.hint == "did you mean `milestones`?"


def test_unknown_key_in_project_file_did_you_mean(make_project):
    project_yml = "name: test_project\nprofle: test\n"
    result = invalid(make_project, {"clg_project.yml": project_yml})
    line, col = position(project_yml, "profle")
    problem = result.problem_at("clg_project.yml", line, col)
    assert "unknown key `profle`" in problem.message
    assert problem.hint == "did you mean `profile`?"


# --- references, sources, cycles ---------------------------------------------------------------

def test_unknown_milestone_reference_did_you_mean(make_project):
    text = journey("""\
phases:
  - phase: p
    milestones:
      - milestone: first_value
        reached_when: {event: signup}
      - milestone: b
        reached_when:
          milestone: first_valu
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, "first_valu", occurrence=2)
    problem = result.problem_at("milestones/j.yml", line, col)
    assert "unknown milestone `first_valu`" in problem.message
    assert problem.hint == "did you mean `first_value`?"


def test_unknown_events_source_did_you_mean(make_project):
    text = """\
journey: j
events:
  from: evnts
phases: []
"""
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, "evnts")
    problem = result.problem_at("milestones/j.yml", line, col)
    assert "unknown events source `evnts`" in problem.message
    assert problem.hint == "did you mean `events`?"


def test_unknown_customers_source(make_project):
    text = journey("""\
customers:
  from: zzz_nothing_like_it
phases: []
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, "zzz_nothing_like_it")
    problem = result.problem_at("milestones/j.yml", line, col)
    assert "customers source" in problem.message
    assert "events" in problem.hint and "schema.table" in problem.hint  # what exists, and the other way


def test_cycle_under_independent_names_the_cycle(make_project):
    text = journey("""\
order: independent
phases:
  - phase: p
    milestones:
      - milestone: a
        reached_when: {milestone: b}
      - milestone: b
        reached_when: {milestone: a}
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    assert len(result.problems) == 1, result.output
    problem = result.problems[0]
    cycle = re.search(r"cycle: ([a-z_ ->]+)", problem.message).group(1).strip()
    assert cycle in ("a -> b -> a", "b -> a -> b")
    first = cycle.split(" -> ")[0]
    line, col = position(text, f"- milestone: {first}")
    result.problem_at("milestones/j.yml", line, col + len("- milestone: "))
    assert "break the cycle" in problem.hint


def test_longer_cycle_through_nested_condition(make_project):
    text = journey("""\
order: independent
phases:
  - phase: p
    milestones:
      - milestone: a
        reached_when: {milestone: c}
      - milestone: b
        reached_when: {milestone: a}
      - milestone: c
        reached_when:
          all:
            - {milestone: b}
            - {event: signup}
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    assert len(result.problems) == 1, result.output
    message = result.problems[0].message
    cycle = message.split("cycle: ")[1].split(" -> ")
    assert cycle[0] == cycle[-1] and sorted(cycle[:-1]) == ["a", "b", "c"]
    # a -> c -> b -> a read as "a refers to c, c to b, b to a"
    for x, y in zip(cycle, cycle[1:]):
        assert (x, y) in {("a", "c"), ("c", "b"), ("b", "a")}, message
    assert result.problems[0].line is not None and result.problems[0].column is not None


def test_reference_to_later_milestone_under_sequential(make_project):
    text = journey("""\
phases:
  - phase: p
    milestones:
      - milestone: a
        reached_when: {milestone: b}
      - milestone: b
        reached_when: {event: search}
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, "b}", line_hint="{milestone: b}")
    problem = result.problem_at("milestones/j.yml", line, col)
    assert "`b`" in problem.message and "earlier" in problem.message
    assert "order: independent" in problem.hint


def test_duplicate_milestone_name(make_project):
    text = journey("""\
phases:
  - phase: p
    milestones:
      - milestone: a
        reached_when: {event: signup}
      - milestone: a
        reached_when: {event: search}
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, "- milestone: a", occurrence=2)
    problem = result.problem_at("milestones/j.yml", line, col + len("- milestone: "))
    assert problem.message == "duplicate milestone `a`"
    assert "unique" in problem.hint


def test_duplicate_milestone_name_reports_no_bogus_cycle(make_project):
    text = journey("""\
phases:
  - phase: p
    milestones:
      - milestone: a
        reached_when: {event: signup}
      - milestone: a
        reached_when: {event: search}
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    assert "cycle" not in result.output
    assert len(result.problems) == 1


def test_duplicate_phase_name(make_project):
    text = journey("""\
phases:
  - phase: p
    milestones:
      - milestone: a
        reached_when: {event: signup}
  - phase: p
    milestones:
      - milestone: b
        reached_when: {event: search}
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, "- phase: p", occurrence=2)
    problem = result.problem_at("milestones/j.yml", line, col + len("- phase: "))
    assert problem.message == "duplicate phase `p`"
    assert "unique" in problem.hint


def test_within_signup_needs_customers(make_project):
    text = journey("""\
phases:
  - phase: p
    milestones:
      - milestone: a
        reached_when: {event: signup}
        within: {days: 3, of: signup}
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, "signup}", line_hint="within:")
    problem = result.problem_at("milestones/j.yml", line, col)
    assert "customers" in problem.message
    assert "customers: {from:" in problem.hint


def test_milestone_reference_inside_per_block(make_project):
    text = journey("""\
phases:
  - phase: p
    milestones:
      - milestone: a
        reached_when: {event: signup}
      - milestone: b
        reached_when:
          per: week
          all:
            - {milestone: a}
            - {event: search}
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, "{milestone: a}")
    problem = result.problem_at("milestones/j.yml", line, col)
    assert "per: week" in problem.message and "{milestone: a}" in problem.message
    assert "move the reference" in problem.hint


# --- names and syntax ---------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["milestone", "phase", "journey"])
def test_invalid_identifier(make_project, key):
    names = {"journey": "j", "phase": "p", "milestone": "a"}
    names[key] = "First-Value"
    text = f"""\
journey: {names['journey']}
events:
  from: events
phases:
  - phase: {names['phase']}
    milestones:
      - milestone: {names['milestone']}
        reached_when: {{event: signup}}
"""
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, "First-Value")
    problem = result.problem_at("milestones/j.yml", line, col)
    assert "`First-Value` is not an identifier" in problem.message
    assert "lowercase" in problem.hint


def test_invalid_yaml_syntax_gives_the_line(make_project):
    text = journey("""\
phases:
  - phase: p
     milestones: []
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    line, _ = position(text, "milestones: []")
    problem = result.problem_at("milestones/j.yml", line)
    assert problem.column is not None
    assert problem.message.startswith("invalid YAML")
    assert "fix the YAML syntax" in problem.hint


def test_unclosed_flow_sequence(make_project):
    text = journey("""\
phases: [
  - phase: p
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert problem.line is not None and problem.column is not None
    assert problem.message.startswith("invalid YAML")


def test_duplicate_yaml_key(make_project):
    text = journey("""\
phases: []
phases: []
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, "phases", occurrence=2)
    problem = result.problem_at("milestones/j.yml", line, col)
    assert "duplicate key `phases`" in problem.message


def test_non_utf8_file(make_project):
    raw = (journey("phases: []\n") + "description: caf\xe9 au lait\n").encode("latin-1")
    result = invalid(make_project, {"milestones/j.yml": raw})
    text = raw.decode("latin-1")
    line, col = position(text, "\xe9")
    problem = result.problem_at("milestones/j.yml", line, col)
    assert "UTF-8" in problem.message
    assert "save it as UTF-8" in problem.hint


# --- where filters ------------------------------------------------------------------------------

@pytest.mark.parametrize("where, says, fix", [
    ("customer_id IN (SELECT customer_id FROM events)", "subquery", "use columns, literals"),
    ("1 = 1; DROP TABLE events; --", "exactly one SQL expression", "no `;`"),
    ("count(*) > 1", "aggregate", "use columns, literals"),
    ("max(customer_id) > 1", "aggregate", "use columns, literals"),
    ("sum(customer_id) OVER () > 1", "window", "use columns, literals"),
    ("EXISTS (SELECT 1)", "subquery", "use columns, literals"),
])
def test_where_string_refused(make_project, where, says, fix):
    text = journey(f"""\
phases:
  - phase: p
    milestones:
      - milestone: a
        reached_when:
          event: search
          where: "{where}"
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, f'"{where}"')
    problem = result.problem_at("milestones/j.yml", line, col)
    assert says in problem.message
    assert fix in str(problem)


def test_where_drop_table_is_never_run(make_project):
    text = journey("""\
phases:
  - phase: p
    milestones:
      - milestone: a
        reached_when:
          all:
            - {event: signup}
            - event: search
              where: "1 = 1; DROP TABLE events; --"
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, '"1 = 1; DROP')
    result.problem_at("milestones/j.yml", line, col)
    code, output = cli("build", project_dir=result.root)
    assert code == 2
    assert not (result.root / "target" / "test.duckdb").exists()


def test_where_unknown_operator(make_project):
    text = journey("""\
phases:
  - phase: p
    milestones:
      - milestone: a
        reached_when:
          event: search
          where: {format: {gtee: 3}}
""")
    result = invalid(make_project, {"milestones/j.yml": text})
    line, col = position(text, "{format:")
    problem = result.problem_at("milestones/j.yml", line, col)
    assert "unknown operator `gtee`" in problem.message
    assert "did you mean `gte`?" in str(problem)


# --- several problems, one run ------------------------------------------------------------------

def test_two_problems_in_two_files_reported_together(make_project):
    first = journey("""\
phases:
  - phase: p
    milestones:
      - milestone: a
        reached_when: {event: search, at_lest: 5}
""")
    second = """\
journey: k
events:
  from: evnts
phases: []
"""
    result = invalid(make_project, {"milestones/a.yml": first, "milestones/b.yml": second})
    assert len(result.problems) == 2, result.output
    line, col = position(first, "at_lest")
    result.problem_at("milestones/a.yml", line, col)
    line, col = position(second, "evnts")
    result.problem_at("milestones/b.yml", line, col)
    # one line per problem, in file order
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0] == "Error:"
    assert "a.yml" in lines[1] and "b.yml" in lines[2]


def test_yaml_and_sql_problems_together(make_project):
    bad_yaml = journey("phases:\n  - phase: p\n     milestones: []\n")
    result = invalid(make_project, {"milestones/j.yml": bad_yaml, "sql/m.sql": "SELECT 1; SELECT 2\n"})
    paths = {Path(p.path).name for p in result.problems}
    assert paths == {"j.yml", "m.sql"}


# --- profiles.yml -------------------------------------------------------------------------------

PROFILES = """\
test:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: target/test.duckdb
"""
JOURNEY = journey("""\
phases:
  - phase: p
    milestones:
      - milestone: a
        reached_when: {event: signup}
""")


def profile_project(make_project, profiles: str) -> Path:
    return make_project({"seeds/events.csv": EVENTS_CSV, "milestones/j.yml": JOURNEY,
                         "profiles.yml": profiles})


def test_profile_unknown_target_flag(make_project):
    root = profile_project(make_project, PROFILES)
    code, output = cli("build", "--target", "dve", project_dir=root)
    assert code == 2
    assert str(root / "profiles.yml") in output
    assert "no target `dve`" in output and "did you mean `dev`?" in output


def test_profile_unknown_default_target(make_project):
    root = profile_project(make_project, PROFILES.replace("target: dev", "target: dve"))
    code, output = cli("build", project_dir=root)
    assert code == 2
    assert str(root / "profiles.yml") in output
    assert "no target `dve`" in output and "did you mean `dev`?" in output


def test_profile_unknown_default_target_gives_line(make_project):
    profiles = PROFILES.replace("target: dev", "target: dve")
    root = profile_project(make_project, profiles)
    code, output = cli("build", project_dir=root)
    assert code == 2
    line, col = position(profiles, "dve")
    assert f"{root / 'profiles.yml'}:{line}:" in output


@pytest.mark.parametrize("kind", ["duckdbb", "snowflake"])
def test_profile_unknown_type(make_project, kind):
    profiles = PROFILES.replace("type: duckdb", f"type: {kind}")
    root = profile_project(make_project, profiles)
    code, output = cli("build", project_dir=root)
    assert code == 2
    line, _ = position(profiles, "type:")
    assert re.search(re.escape(f"{root / 'profiles.yml'}:{line}:") + r"\d+", output), output
    assert "`type`" in output and "duckdb" in output and "postgres" in output and "spark" in output


def test_postgres_profile_names_the_missing_setting_and_the_wrong_one(make_project):
    profiles = PROFILES.replace("type: duckdb", "type: postgres")
    root = profile_project(make_project, profiles)
    code, output = cli("build", project_dir=root)
    assert code == 2
    # `path` is a DuckDB setting: the message lists PostgreSQL's settings
    assert "unknown setting `path`" in output and "dbname" in output, output
    line, _ = position(profiles, "path:")
    assert f"{root / 'profiles.yml'}:{line}:" in output


def test_profile_unknown_setting(make_project):
    profiles = PROFILES.replace("      path:", "      pth:")
    root = profile_project(make_project, profiles)
    code, output = cli("build", project_dir=root)
    assert code == 2
    line, col = position(profiles, "pth")
    assert f"{root / 'profiles.yml'}:{line}:{col}" in output
    assert "unknown setting `pth`" in output


@pytest.mark.parametrize("kind", ["duckdb", "postgres", "spark"])
def test_profile_threads_above_the_cpus_is_a_located_error(make_project, kind):
    """`threads: 100000` would start that many threads; it is bounded by os.cpu_count()."""
    extra = {"duckdb": "", "postgres": "      user: u\n      dbname: d\n", "spark": ""}[kind]
    profiles = PROFILES.replace("type: duckdb", f"type: {kind}").replace(
        "      path: target/test.duckdb\n", f"{extra}      threads: 100000\n")
    root = profile_project(make_project, profiles)
    code, output = cli("build", project_dir=root)
    assert code == 2
    line, col = position(profiles, "100000")
    assert f"{root / 'profiles.yml'}:{line}:{col}: target `dev`, `threads`: 100000 is more than" in output
    assert f"at most {os.cpu_count()}" in output


ENV_PROFILES = PROFILES.replace("target/test.duckdb", "\"{{ env_var('CLG_TEST_SURELY_UNSET') }}\"")


def test_profile_env_var_without_default_missing(make_project, monkeypatch):
    monkeypatch.delenv("CLG_TEST_SURELY_UNSET", raising=False)
    root = profile_project(make_project, ENV_PROFILES)
    code, output = cli("build", project_dir=root)
    assert code == 2
    assert str(root / "profiles.yml") in output
    assert "CLG_TEST_SURELY_UNSET" in output and "not set" in output
    assert not (root / "target" / "test.duckdb").exists()


def test_profile_env_var_missing_gives_line(make_project, monkeypatch):
    monkeypatch.delenv("CLG_TEST_SURELY_UNSET", raising=False)
    root = profile_project(make_project, ENV_PROFILES)
    code, output = cli("build", project_dir=root)
    assert code == 2
    line, _ = position(ENV_PROFILES, "env_var")
    assert f"{root / 'profiles.yml'}:{line}:" in output


def test_profile_env_var_set_or_defaulted(make_project, monkeypatch):
    monkeypatch.setenv("CLG_TEST_SURELY_UNSET", "target/from_env.duckdb")
    root = profile_project(make_project, ENV_PROFILES)
    code, output = cli("build", project_dir=root)
    assert code == 0, output
    assert (root / "target" / "from_env.duckdb").exists()


def test_profile_error_is_a_profile_error(make_project):
    from clg_metrics.profiles import load_target

    root = profile_project(make_project, PROFILES)
    with pytest.raises(ProfileError, match="did you mean `dev`") as info:
        load_target(root / "profiles.yml", "test", "dve")
    assert info.value.exit_code == 2


# --- what is fine -------------------------------------------------------------------------------

def test_empty_journeys_folder_is_fine(make_project):
    root = make_project({"seeds/events.csv": EVENTS_CSV})
    assert list((root / "milestones").iterdir()) == []
    code, output = cli("validate", project_dir=root)
    assert code == 0, output
    assert "0 journeys" in output
    project = load_project(root)
    assert project.journeys == []


def test_model_named_like_the_table_it_reads_is_refused(make_project):
    # publishing `sql/events.sql` would replace the warehouse table `events` it reads
    from clg_metrics.errors import SpecError
    from clg_metrics.loader import load_project

    root = make_project({"sql/events.sql": "SELECT * FROM main.events\n",
                         "milestones/j.yml": "journey: j\nevents: {from: events}\nphases: []\n"})
    with pytest.raises(SpecError) as info:
        load_project(root)
    assert "events.sql" in str(info.value) and "replace the table it reads" in str(info.value)
