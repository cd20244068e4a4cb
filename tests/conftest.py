"""Shared fixtures: an in-memory DuckDB run of one journey, and a project factory (dbt's style)."""

from __future__ import annotations

import os
import textwrap
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import yaml
from sqlglot import exp

from clg_metrics.compiler import OUTPUT_TABLES, EventSource, JourneyCompiler
from clg_metrics.compiler.outputs import BuiltJourney
from clg_metrics.spec import Journey

EVENT_COLUMNS = {"customer_id": "BIGINT", "event_name": "VARCHAR", "occurred_at": "TIMESTAMP",
                 "format": "VARCHAR", "value": "VARCHAR", "properties": "VARCHAR"}
# the customers table always has these; any other key the rows carry becomes a VARCHAR column
CUSTOMER_COLUMNS = {"customer_id": "BIGINT", "signed_up_at": "TIMESTAMP", "plan": "VARCHAR"}

# The README's test command runs the suite in two pytest-xdist workers: each gets a Spark scratch
# warehouse of its own, since two JVMs must not share one Derby metastore.
if os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get("CLG_TEST_SPARK_WAREHOUSE"):
    _own = Path(os.environ["CLG_TEST_SPARK_WAREHOUSE"]) / os.environ["PYTEST_XDIST_WORKER"]
    _own.mkdir(parents=True, exist_ok=True)
    os.environ["CLG_TEST_SPARK_WAREHOUSE"] = str(_own)


def customer_columns(customers: list[dict]) -> dict[str, str]:
    """The columns of the ``customers`` table for these rows: CUSTOMER_COLUMNS, then extra keys."""
    columns = dict(CUSTOMER_COLUMNS)
    for row in customers:
        for key in row:
            columns.setdefault(key, "VARCHAR")
    return columns


def run_journey_on_duckdb(journey: dict, events: list[dict], customers: list[dict] | None,
                          as_of: datetime, con: duckdb.DuckDBPyConnection | None = None,
                          survey: list[dict] | None = None) -> dict[str, list[dict]]:
    """Compile ``journey`` (a YAML-shaped dict) and run it on an in-memory DuckDB.

    Events go into table ``events`` (columns of EVENT_COLUMNS), customers into ``customers``
    (``customer_columns``), survey rows (if given) into ``survey`` (``survey_columns``); the
    journey's sources are pointed at them. Returns every output table of the registry as row
    dicts; the outputs other outputs read (``OutputTable.reads``) are tables of that name.
    """
    from clg_metrics.models import render

    spec = journey_spec(journey, customers, survey)
    own = con is None
    con = duckdb.connect() if own else con
    con.execute("SET TimeZone = 'UTC'")
    for table in ("events", "customers", "survey", "progress"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute("CREATE TABLE events (" + ", ".join(f"{c} {t}" for c, t in EVENT_COLUMNS.items()) + ")")
    _insert(con, "events", list(EVENT_COLUMNS), events)
    if customers is not None:
        columns = customer_columns(customers)
        con.execute("CREATE TABLE customers (" + ", ".join(f"{c} {t}" for c, t in columns.items()) + ")")
        _insert(con, "customers", list(columns), customers)
    if survey is not None:
        columns = survey_columns(survey)
        con.execute("CREATE TABLE survey (" + ", ".join(f'"{c}" {t}' for c, t in columns.items()) + ")")
        _insert(con, "survey", list(columns), survey)
    source = EventSource("events", spec.events.columns, list(EVENT_COLUMNS))
    progress = JourneyCompiler(spec, source, as_of).compile()
    con.execute(f"CREATE TABLE progress AS {progress.sql('duckdb')}")
    built = [BuiltJourney(spec, "progress", list(customer_columns(customers)) if customers is not None else None)]
    tables = output_queries(built, as_of)
    out = {}
    for name, query in tables.items():
        if name in READ_BY_OUTPUTS:  # later outputs read it as a table
            con.execute(f"CREATE OR REPLACE TABLE {name} AS {render(query, 'duckdb', pretty=False)}")
            query = exp.select("*").from_(name)
        cursor = con.execute(render(query, "duckdb", pretty=False))  # as the engine renders it (dialects.lower)
        columns = [d[0] for d in cursor.description]
        out[name] = [dict(zip(columns, row)) for row in cursor.fetchall()]
    if own:
        con.close()
    return out


READ_BY_OUTPUTS = {name for table in OUTPUT_TABLES for name in table.reads}


def output_queries(built: list, as_of: datetime) -> dict:
    """Every output table of the registry over the given progress tables, by name."""
    return {table.name: table.build(built, as_of) for table in OUTPUT_TABLES}


# the survey table always has these; any other key the rows carry becomes a VARCHAR column
SURVEY_COLUMNS = {"customer_id": "BIGINT", "struggle": "VARCHAR", "motivation": "VARCHAR", "outcome": "VARCHAR"}


def survey_columns(survey: list[dict]) -> dict[str, str]:
    """The columns of the ``survey`` table for these rows: SURVEY_COLUMNS, then extra keys."""
    columns = dict(SURVEY_COLUMNS)
    for row in survey:
        for key in row:
            columns.setdefault(key, "VARCHAR")
    return columns


def journey_spec(journey: dict, customers: list[dict] | None, survey: list[dict] | None) -> Journey:
    """The journey with its sources pointed at the test tables (a given ``survey: {columns}`` kept)."""
    doc = {**journey, "events": {"from": "events"}}
    doc.pop("customers", None)
    if customers is not None:
        doc["customers"] = {"from": "customers"}
    if survey is not None:
        doc["survey"] = {**(journey.get("survey") or {}), "from": "survey"}
    else:
        doc.pop("survey", None)
    return Journey.model_validate(doc)


def _insert(con, table: str, columns: list[str], rows: list[dict]) -> None:
    """Insert rows in one statement: one list parameter per column, zipped by unnest (executemany is slow)."""
    if not rows:
        return
    unnests = ", ".join(f"unnest(${i + 1})" for i in range(len(columns)))
    con.execute(f"INSERT INTO {table} SELECT {unnests}", [[r.get(c) for r in rows] for c in columns])


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    """Profiles and database paths come from the test project, never from the developer's shell."""
    monkeypatch.delenv("CLG_PROFILES_DIR", raising=False)
    monkeypatch.delenv("CLG_DUCKDB_PATH", raising=False)


def cli(*args: str, project_dir: Path | None = None) -> tuple[int, str]:
    """Run the CLI in-process; return (exit code, stdout + stderr). No exception or traceback may escape."""
    from click.testing import CliRunner

    from clg_metrics.cli import main

    argv = list(args) + (["--project-dir", str(project_dir)] if project_dir is not None else [])
    result = CliRunner().invoke(main, argv)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised {result.exception!r}:\n{result.output}") from result.exception
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def run_journey_on_engine(engine, journey: dict, events: list[dict], customers: list[dict] | None,
                          as_of: datetime, survey: list[dict] | None = None) -> dict[str, list[dict]]:
    """``run_journey_on_duckdb`` on another engine: the same tables (typed by DuckDB), the same
    compiled trees rendered for the engine's dialect.

    PostgreSQL gets real tables through the engine's ``load_relation``/``create_table_as``. On
    Spark every table write is a job of seconds, so the inputs become temporary views of
    in-memory DataFrames and the progress table a cached one: the SQL under test is the same,
    and the engine's own table paths are covered by test_engine_spark and test_engines_e2e.
    """
    from clg_metrics.models import renamed, render

    spec = journey_spec(journey, customers, survey)
    source = EventSource("events", spec.events.columns, list(EVENT_COLUMNS))
    progress = JourneyCompiler(spec, source, as_of).compile()
    built = [BuiltJourney(spec, "progress", list(customer_columns(customers)) if customers is not None else None)]
    tables = output_queries(built, as_of)
    spark = engine.dialect == "spark"
    qualified = None if spark else (lambda name: f"{engine.schema}.{name}")
    if spark:
        cached = _spark_inputs(engine, events, customers, render(progress, "spark", None, pretty=False), survey)
    else:
        con = duckdb.connect()
        run_journey_on_duckdb(journey, [], customers, as_of, con=con, survey=survey)  # creates the typed tables
        _insert(con, "events", list(EVENT_COLUMNS), events)
        engine.load_relation("events", con.table("events"))
        if customers is not None:
            engine.load_relation("customers", con.table("customers"))
        if survey is not None:
            engine.load_relation("survey", con.table("survey"))
        con.close()
        engine.create_table_as("progress", renamed(progress, qualified))
    out = {}
    try:
        for name, query in tables.items():
            if name in READ_BY_OUTPUTS:  # later outputs read it as a table
                if spark:
                    engine.spark.sql(render(query, "spark", None, pretty=False)).createOrReplaceTempView(name)
                else:
                    engine.create_table_as(name, renamed(query, qualified))
                query = exp.select("*").from_(name)
            columns, rows = engine.fetch(renamed(query, qualified))
            out[name] = [dict(zip(columns, row)) for row in rows]
    finally:
        if spark:
            cached.unpersist()
    return out


_SPARK_TYPES = {"BIGINT": "bigint", "VARCHAR": "string", "TIMESTAMP": "timestamp_ntz"}


def _spark_inputs(engine, events, customers, progress_sql, survey=None):
    """Temporary views events/customers/survey/progress in the engine's session; returns the cached progress."""
    spark = engine.spark

    def view(name, columns, rows):
        schema = ", ".join(f"`{c}` {_SPARK_TYPES[t]}" for c, t in columns.items())
        spark.createDataFrame([tuple(r.get(c) for c in columns) for r in rows], schema).createOrReplaceTempView(name)

    view("events", EVENT_COLUMNS, events)
    if customers is not None:
        view("customers", customer_columns(customers), customers)
    if survey is not None:
        view("survey", survey_columns(survey), survey)
    progress = spark.sql(progress_sql).cache()
    progress.createOrReplaceTempView("progress")
    return progress


@pytest.fixture(scope="session")
def postgres_engine(tmp_path_factory):
    from engines import connect_engine, drop_schema

    engine = connect_engine("postgres", tmp_path_factory.mktemp("pg"))
    yield engine
    drop_schema(engine)


@pytest.fixture(scope="session")
def spark_engine(tmp_path_factory):
    from engines import connect_engine, drop_schema

    engine = connect_engine("spark", tmp_path_factory.mktemp("spark"))
    yield engine
    drop_schema(engine)


@pytest.fixture(params=["duckdb", "postgres", "spark"])
def run_journey(request):
    """run_journey(journey_dict, events, customers, as_of, survey=None) -> {table: [row dicts]}, once per engine.

    On PostgreSQL and Spark the result must also equal DuckDB's row for row (SPEC: every engine
    agrees), and the test's own expectations are then checked against the engine's rows.
    """
    if request.param == "duckdb":
        return run_journey_on_duckdb
    from engines import normalized

    engine = request.getfixturevalue(f"{request.param}_engine")

    def run(journey, events, customers, as_of, survey=None):
        expected = run_journey_on_duckdb(journey, events, customers, as_of, survey=survey)
        actual = run_journey_on_engine(engine, journey, events, customers, as_of, survey=survey)
        for table in expected:
            assert normalized(actual[table]) == normalized(expected[table]), \
                f"{request.param} differs from DuckDB in {table}"
        return actual

    return run


PROFILES = """\
test:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: target/test.duckdb
      threads: 1
"""


@pytest.fixture
def make_project(tmp_path):
    """make_project({"milestones/x.yml": "...", "seeds/events.csv": "..."}) -> project dir.

    A clg_project.yml (profile `test`) and profiles.yml are added unless given.
    """

    def make(files: dict[str, str], name: str = "proj") -> Path:
        root = tmp_path / name
        defaults = {"clg_project.yml": "name: test_project\nprofile: test\n", "profiles.yml": PROFILES}
        for rel, text in {**defaults, **files}.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text) if isinstance(text, str) else yaml.safe_dump(text))
        (root / "milestones").mkdir(exist_ok=True)
        return root

    return make


REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_FILES = ("clg_project.yml", "milestones", "sql", "seeds")


@pytest.fixture(scope="module")
def con():
    """An in-memory DuckDB for a test module's compiled queries (tables are recreated per case)."""
    connection = duckdb.connect()
    yield connection
    connection.close()


def copy_demo(root: Path) -> Path:
    """The repository's demo project (without profiles.yml) copied to ``root``."""
    import shutil

    root.mkdir(parents=True)
    for name in DEMO_FILES:
        source = REPO_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    return root


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Path:
    """The demo project with every 4th visitor: the journey's every path still occurs, and an
    engine's per-statement cost (Spark's), not the data, stays what a build spends its time on."""
    import csv

    root = copy_demo(tmp_path_factory.mktemp("e2e") / "demo")
    for seed in ("raw_events.csv", "raw_customers.csv"):
        path = root / "seeds" / seed
        with path.open(newline="") as f:
            records = list(csv.DictReader(f))
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(r for r in records if int(r["user_id"]) % 4 == 0)
    return root


@pytest.fixture(scope="session")
def duckdb_outputs(demo) -> dict[str, list]:
    """The ``demo`` built on DuckDB by the CLI: every output table's rows, and ``dq_results``' outcomes."""
    from engines import DQ_QUERY, OUTPUTS, fetch_duckdb, rows

    (demo / "profiles.yml").write_text("clg_metrics:\n  outputs:\n    dev: {type: duckdb, path: target/e2e.duckdb}\n")
    code, output = cli("build", project_dir=demo)
    assert code == 0, output
    connection = duckdb.connect(str(demo / "target" / "e2e.duckdb"), read_only=True)
    try:
        outputs = {t: rows(*fetch_duckdb(connection, t)) for t in OUTPUTS}
        outputs["dq_results"] = connection.execute(DQ_QUERY).fetchall()
        return outputs
    finally:
        connection.close()


# Files that must start their own Spark session (they test the session itself) run first; with
# pytest-xdist (`--dist loadfile --no-loadscope-reorder`: files handed out in this order, not
# largest first) the first file handed to a worker runs before any other there.
OWN_SESSION_FIRST = ("test_engine_spark.py",)


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: item.path.name not in OWN_SESSION_FIRST)  # (a stable sort)


def pytest_sessionfinish(session, exitstatus):
    session.config._clg_exitstatus = int(exitstatus)


def pytest_unconfigure(config):
    """After great-expectations ran, leave without interpreter teardown (as the CLI does).

    With duckdb 2.0, GX's SQLAlchemy path leaves objects that nanobind reports as ~40 lines of
    "leaked instance" at teardown, after pytest's summary; the summary must stay the last words.
    """
    import os
    import sys

    if "great_expectations" in sys.modules and hasattr(config, "_clg_exitstatus"):
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter._tw.flush()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(config._clg_exitstatus)
