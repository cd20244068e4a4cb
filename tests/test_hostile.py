"""Hostile input: fuzzed YAML and filters, SQL injection attempts, and documents built to hurt.

The promise under test: whatever a user's files hold, clg-metrics either accepts them or answers
with a located error (``SpecError``, exit 2); it never crashes with a traceback, and values and
names never reach SQL as code. The fuzz tests let only ``SpecError`` escape.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from clg_metrics.errors import SpecError
from clg_metrics.filters import parse_sql_filter, validate_filter
from clg_metrics.loader import load_project
from clg_metrics.yaml_loader import load_yaml
from conftest import cli

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to parsing as a Command" warnings

EXAMPLES = int(os.environ.get("CLG_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# --- documents that once escaped the loader (regression cases) ----------------------------------

# PyYAML's scalar constructors raise KeyError / AttributeError / IndexError on some explicit tags.
CONSTRUCTOR_CRASHES = {
    "bool_tag": "journey: j\nevents: {from: events}\nphases: !!bool maybe\n",  # KeyError: 'maybe'
    "timestamp_tag": "journey: j\ndescription: !!timestamp yesterday\n",  # AttributeError on None.groupdict
    "empty_int_tag": "journey: j\nevents: {from: events}\nphases: !!int ''\n",  # IndexError
    "empty_float_tag": "journey: j\nevents: {from: events}\nphases: !!float ''\n",  # IndexError
}


def nested(levels: int) -> str:
    return "journey: j\nevents: {from: events}\nphases: " + "[" * levels + "]" * levels + "\n"


# --- fuzzing the YAML loader and the project loader ------------------------------------------------

YAML_FRAGMENTS = [
    "journey: j\n", "events: {from: events}\n", "events:\n  from: events\n", "phases:\n", "  - phase: p\n",
    "    milestones:\n", "      - milestone: m\n", "        reached_when: ", "{event: signup}", "{all: [",
    "{any: [", "]}", "{milestone: m}", "at_least: ", "5", "true", '"five"', "-1", "null", "~", "[]", "{}",
    "within: {days: 3, of: signup}", "per: week", "streak: 2", "where: ", "{format: csv}",
    "'1=1; DROP TABLE events'", "distinct: x", "customers: {from: events}\n", "order: independent\n",
    "checks: [{expect: column_to_exist, column: x}]", "&a ", "*a", "<<: *a\n", "!!binary ", "!!set ",
    "!!str ", "!!float ", "!!int ", "!!null ", "!!timestamp ", "!!bool ", "!!omap ", "!!python/object ",
    "? ", ": ", "- ", "\n", "  ", "    ", ",", "{", "}", "[", "]", "'", '"', "#", "|\n", ">\n", "1: 2\n",
    "null: x\n", "2024-01-01: x\n", "3.5", ".nan", ".inf", "0x1F", "é", "\t", "\x00", "\ufeff", "\x85",
    "%YAML 1.1\n---\n", "---\n", "...\n", "kpi: ", "job: {when: x}", "columns: {customer_id: u}", "from: ",
    "a.b.c.d", "ÿ", "\\", "%", "@", "`", "!", "&",
]
yaml_text = st.one_of(st.text(max_size=120),
                      st.lists(st.sampled_from(YAML_FRAGMENTS), max_size=30).map("".join))


@st.composite
def spliced_bytes(draw) -> bytes:
    """YAML-ish text as UTF-8 with a few random bytes spliced in somewhere."""
    base = draw(yaml_text).encode("utf-8")
    at = draw(st.integers(min_value=0, max_value=len(base)))
    return base[:at] + draw(st.binary(min_size=1, max_size=8)) + base[at:]


raw_bytes = st.one_of(st.binary(max_size=200), spliced_bytes())


def assert_located(exc: SpecError, path: Path) -> None:
    assert exc.problems, "a SpecError without problems"
    for problem in exc.problems:
        assert problem.path is not None, problem
        assert Path(problem.path) == path, problem
        assert problem.message, problem


@FUZZ
@given(yaml_text)
def test_fuzz_load_yaml_text(text):
    path = Path("fuzz.yml")
    try:
        load_yaml(path, text=text)
    except SpecError as exc:
        assert_located(exc, path)


@FUZZ
@given(raw_bytes)
def test_fuzz_load_yaml_bytes(tmp_path, data):
    path = tmp_path / "fuzz.yml"
    path.write_bytes(data)
    try:
        load_yaml(path)
    except SpecError as exc:
        assert_located(exc, path)


@FUZZ
@given(yaml_text)
def test_fuzz_load_project_journey(make_project, text):
    root = make_project({"seeds/events.csv": "customer_id,event_name,occurred_at\n1,signup,2024-01-01\n"})
    path = root / "milestones" / "j.yml"
    path.write_text(text, encoding="utf-8")
    try:
        load_project(root)
    except SpecError as exc:
        assert exc.exit_code == 2
        for problem in exc.problems:
            assert problem.path is not None, problem
            assert problem.message, problem


@pytest.mark.parametrize("case", sorted(CONSTRUCTOR_CRASHES))
def test_explicit_tags_with_bad_values_are_located_errors(make_project, case):
    root = make_project({"milestones/j.yml": CONSTRUCTOR_CRASHES[case]})
    code, output = cli("validate", project_dir=root)
    assert code == 2 and "j.yml" in output, output


def test_thousands_of_nested_lists_are_a_located_error(make_project):
    root = make_project({"milestones/j.yml": nested(5000)})
    code, output = cli("validate", project_dir=root)
    assert code == 2, output
    assert f"{root / 'milestones' / 'j.yml'}:3:" in output and "nested deeper than 64" in output, output


def test_thousands_of_nested_lists_without_libyaml(make_project, monkeypatch):
    import yaml

    from clg_metrics import yaml_loader

    monkeypatch.setattr(yaml_loader, "_LOADER", yaml.SafeLoader)
    root = make_project({"milestones/j.yml": nested(1500)})
    code, output = cli("validate", project_dir=root)
    assert code == 2 and "j.yml" in output, output


def _no_core_dump() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


DEEP_HEAD = "journey: j\nevents: {from: events}\nphases: "
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("text", [
    pytest.param(nested(100_000), id="plain"),
    # ways around a scanner that tracks quotes (it no longer does)
    pytest.param(DEEP_HEAD + f"[it's, {DEEP}]\n", id="apostrophe_in_plain_scalar"),
    pytest.param(DEEP_HEAD + f'["a\\\\", {DEEP}]\n', id="escaped_backslash"),
    pytest.param(DEEP_HEAD + "[" + ', "]", ['.join([""] * 20_000) + "]" * 20_000 + "\n", id="closers_in_strings"),
])
def test_a_hundred_thousand_nested_lists_do_not_crash_the_process(make_project, text):
    """In a subprocess: a crash here is a SIGSEGV, not an exception."""
    root = make_project({"milestones/j.yml": text})
    script = Path(sys.executable).parent / "clg-metrics"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "clg_metrics.cli"]
    env = {k: v for k, v in os.environ.items() if k not in ("CLG_PROFILES_DIR", "CLG_DUCKDB_PATH")}
    done = subprocess.run([*command, "validate", "--project-dir", str(root)], capture_output=True, text=True,
                          env=env, timeout=300, preexec_fn=_no_core_dump)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "j.yml" in done.stderr and "Traceback" not in done.stderr


# --- fuzzing `where` filters ----------------------------------------------------------------------

SQL_FRAGMENTS = [
    "SELECT", "1", "=", "a", "format", "(", ")", ";", "'x'", "''''", "count(*)", "sum(a)", "max(a)", "OVER",
    "OVER ()", "FROM", "events", ",", "--", "/*", "*/", "UNION", "DROP TABLE events", "DELETE FROM events",
    "and", "or", "not", "in", "exists", "lower(", "x.y", "$1", "?", ":a", "@a", "CAST(", "AS", "INT", "->",
    "->>", "[", "]", "{", "}", "x -> x", "CASE WHEN", "THEN", "ELSE", "END", '"', "`", "\\", "1e999",
    "NULL", "IS", "LIKE", "BETWEEN", "list_transform(", "read_text('x')", "ATTACH 'x'", "PRAGMA", "COPY",
    "INSTALL", "LOAD", "SET", "CALL", "unnest(", "row_number()", "filter (where", "::", "||", "%", "~", "!",
    "INTERVAL", "DATE", "VALUES", "WITH", "RECURSIVE", "json_extract(", "COLUMNS(*)", "*", "query(",
    "getenv('HOME')", "system(", "(SELECT 1)", "lag(a)", "rank()", "string_agg(a)", "list(a)", "array_agg(a)",
]
sql_text = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(SQL_FRAGMENTS), max_size=14).map(" ".join),
    st.lists(st.sampled_from(SQL_FRAGMENTS), max_size=14).map("".join),
)
FORBIDDEN_NODES = (exp.Select, exp.Subquery, exp.AggFunc, exp.Window, exp.Command, exp.Anonymous)


def assert_safe_tree(tree: exp.Expr, text: str) -> None:
    bad = [type(n).__name__ for n in tree.walk() if isinstance(n, FORBIDDEN_NODES)]
    assert not bad, f"{text!r} was accepted with {bad}"


@FUZZ
@given(sql_text)
def test_fuzz_sql_filters(text):
    try:
        tree = parse_sql_filter(text)
    except ValueError:
        pass
    else:
        assert_safe_tree(tree, text)
        tree.sql("duckdb")  # what was accepted can be rendered
    try:
        validate_filter(text)
    except ValueError:
        pass


plain = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
mapping_filters = st.dictionaries(
    st.one_of(st.text(max_size=10), st.integers()),
    st.one_of(plain, st.lists(plain, max_size=3),
              st.dictionaries(st.text(max_size=5), st.one_of(plain, st.lists(plain)), max_size=2)),
    max_size=3)


@FUZZ
@given(st.one_of(mapping_filters, plain, st.lists(plain, max_size=3)))
def test_fuzz_filter_values(value):
    try:
        validate_filter(value)
    except ValueError:
        pass


@pytest.mark.parametrize("text", ["1=1; DROP TABLE events", "format = 'csv'; DELETE FROM events",
                                  "(SELECT count(*) FROM events) > 0", "format IN (SELECT 'csv')",
                                  "count(*) > 1", "row_number() OVER () = 1", "query('SELECT 1') = 1",
                                  "format = ?", "getenv('HOME') = 'x'"])
def test_dangerous_filter_strings_are_refused(text):
    with pytest.raises(ValueError):
        parse_sql_filter(text)


@pytest.mark.parametrize("text", ["read_csv('/etc/passwd') IS NOT NULL", "read_parquet('x.parquet') IS NULL"])
def test_table_functions_in_filters_are_refused(text):
    with pytest.raises(ValueError):
        parse_sql_filter(text)


# --- SQL injection, end to end --------------------------------------------------------------------

HOSTILE = "'; DROP TABLE events; --"
INJECTION_EVENTS = """\
customer_id,event_name,occurred_at,format
1,signup,2024-01-01 00:00:00,
1,export,2024-01-02 00:00:00,"'; DROP TABLE events; --"
1,"'; DROP TABLE events; --",2024-01-03 00:00:00,
2,signup,2024-01-01 00:00:00,
2,export,2024-01-02 00:00:00,csv
2,export,2024-01-02 00:00:00,"'; DROP TABLE events"
2,"'; DROP TABLE events",2024-01-03 00:00:00,
3,signup,2024-01-01 00:00:00,
3,export,2024-01-02 00:00:00,"'; drop table events; --"
"""
# a hostile value in a `where` mapping and as an event name: matched literally and exactly
LITERAL_JOURNEY = """\
journey: literal_values
events:
  from: events
phases:
  - phase: p
    milestones:
      - milestone: signed_up
        reached_when: {event: signup}
      - milestone: exported_hostile
        reached_when: {event: export, where: {format: "'; DROP TABLE events; --"}}
      - milestone: hostile_event
        reached_when: {event: "'; DROP TABLE events; --"}
"""
# hostile and double-quoted identifiers: a column mapping and a `where` key
ODD_COLUMNS_SQL = """\
SELECT customer_id AS "'; DROP TABLE events; --", event_name AS "ev""name", occurred_at AS ts,
       format AS "fo""rmat"
FROM events
"""
ODD_JOURNEY = """\
journey: odd_columns
events:
  from: odd_events
  columns: {customer_id: "'; DROP TABLE events; --", event_name: 'ev"name', occurred_at: ts}
phases:
  - phase: p
    milestones:
      - milestone: signed_up
        reached_when: {event: signup}
      - milestone: exported_csv
        reached_when: {event: export, where: {'fo"rmat': csv}}
"""
PROJECT_YML = 'name: hostile\nprofile: test\nvars:\n  as_of: "2024-03-01 00:00:00"\n'


def test_sql_injection_attempts_are_data(make_project):
    root = make_project({"clg_project.yml": PROJECT_YML, "seeds/events.csv": INJECTION_EVENTS,
                         "sql/odd_events.sql": ODD_COLUMNS_SQL,
                         "milestones/literal_values.yml": LITERAL_JOURNEY,
                         "milestones/odd_columns.yml": ODD_JOURNEY})
    code, output = cli("build", project_dir=root)  # with checks: event names reach their SQL too
    assert code == 0, output
    db = str(root / "target" / "test.duckdb")
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone() == (9,)
        assert con.execute("SELECT count(*) FROM events WHERE format = ?", [HOSTILE]).fetchone() == (1,)
        funnel = con.execute("SELECT journey, milestone, customers_reached FROM funnel "
                             "ORDER BY journey, milestone_index").fetchall()
        checks = dict(con.execute("SELECT check_name, status FROM dq_results").fetchall())
    # only customer 1's export carries exactly the hostile string, and only customer 1 has the hostile event
    assert funnel == [("literal_values", "signed_up", 3), ("literal_values", "exported_hostile", 1),
                      ("literal_values", "hostile_event", 1),
                      ("odd_columns", "signed_up", 3), ("odd_columns", "exported_csv", 1)]
    assert checks["events.literal_values.event_names_occur"] == "pass"  # the hostile event name was found
    assert all(status != "error" for status in checks.values()), checks

    # a `where` string with a second statement: a located validation error, the data untouched
    text = LITERAL_JOURNEY.replace("""where: {format: "'; DROP TABLE events; --"}""",
                                   """where: "1=1; DROP TABLE events\"""")
    (root / "milestones" / "literal_values.yml").write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "DROP TABLE" in row)
    for command in ("validate", "build"):
        code, output = cli(command, project_dir=root)
        assert code == 2, output
        assert f"{root / 'milestones' / 'literal_values.yml'}:{line}:" in output, output
        assert "exactly one SQL expression" in output
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone() == (9,)
        assert con.execute("SELECT count(*) FROM funnel").fetchone() == (5,)


# --- documents built to hurt ----------------------------------------------------------------------

HEAD = "journey: j\nevents: {from: events}\n"
MILESTONE = ("phases:\n  - phase: p\n    milestones:\n      - milestone: m\n"
             "        reached_when: {event: signup, at_least: AT_LEAST}\n")


def billion_laughs() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    names = "abcdefghi"
    for prev, name in zip(names, names[1:]):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


HURTFUL = {
    "nested_lists": (HEAD + "phases: " + "[" * 100 + "]" * 100 + "\n", "nested deeper than 64"),
    "nested_mappings": (HEAD + "description: " + "{a: " * 100 + "1" + "}" * 100 + "\n",
                        "nested deeper than 64"),
    "alias_bomb": (billion_laughs(), "more than 200000 values"),
    "self_alias": (HEAD + "phases: &x [*x]\n", "nested deeper"),
    "huge_file": (HEAD + "description: x\n" + ("# " + "x" * 98 + "\n") * 52_000, "larger than"),
    "at_least_text": (HEAD + MILESTONE.replace("AT_LEAST", '"five"'), "at_least"),
    "at_least_bool": (HEAD + MILESTONE.replace("AT_LEAST", "true"), "at_least"),
    "at_least_float": (HEAD + MILESTONE.replace("AT_LEAST", "2.5"), "at_least"),
    "phases_number": (HEAD + "phases: 3\n", "phases"),
    "milestones_text": (HEAD + "phases:\n  - phase: p\n    milestones: lots\n", "milestones"),
    "not_a_mapping": ("- journey: j\n", "mapping"),
    # a tag on a collection is ignored (the list stays a list); on a scalar it has no constructor
    "python_tag_list": (HEAD + "description: !!python/object/apply:os.system ['echo owned']\n",
                        "description"),
    "python_tag_scalar": (HEAD + "description: !!python/object/apply:os.system echo\n", "python/object"),
    "duplicate_key": (HEAD + "journey: k\n", "duplicate key"),
}


@pytest.mark.parametrize("case", sorted(HURTFUL))
def test_hurtful_documents_are_located_errors(make_project, case):
    text, expected = HURTFUL[case]
    root = make_project({"seeds/events.csv": "customer_id,event_name,occurred_at\n1,signup,2024-01-01\n",
                         "milestones/j.yml": text})
    if case == "huge_file":
        assert (root / "milestones" / "j.yml").stat().st_size > 5_000_000
    code, output = cli("validate", project_dir=root)
    assert code == 2, output
    assert str(root / "milestones" / "j.yml") in output, output
    assert expected in output, output
    assert output.count("\n") < 20  # a message, not a dump of the document


@pytest.mark.parametrize("rel", ["milestones/j.yml", "clg_project.yml", "sql/model.sql", "profiles.yml"])
def test_non_utf8_files_are_located_errors(make_project, rel):
    root = make_project({"seeds/events.csv": "customer_id,event_name,occurred_at\n1,signup,2024-01-01\n",
                         "milestones/j.yml": HEAD + "phases: []\n"})
    body = {"milestones/j.yml": HEAD.encode() + b"description: caf\xe9\n",
            "clg_project.yml": b"name: test_project\nprofile: test\n# caf\xe9\n",
            "sql/model.sql": b"SELECT 'caf\xe9' AS x\n",
            "profiles.yml": b"test:\n  target: dev\n  outputs:\n"
                            b"    dev: {type: duckdb, path: 'caf\xe9.duckdb'}\n"}[rel]
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(body)
    code, output = cli("validate", project_dir=root)
    assert code == 2, output
    assert str(root / rel) in output, output
    assert "UTF-8" in output, output
    if rel != "profiles.yml":
        line = body[: body.index(b"\xe9")].count(b"\n") + 1
        assert f"{root / rel}:{line}:" in output, output
