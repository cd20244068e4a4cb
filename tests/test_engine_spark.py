"""The Spark engine on a real local Spark: loading, replacing, publishing, persistence and GX.

A JVM costs seconds to start, so one SparkSession serves the whole module (started through the
engine, over a scratch warehouse: ``$CLG_TEST_SPARK_WAREHOUSE`` under ``.ci/with-servers``, else a
pytest temporary folder); each test works in a database of its own. Before it starts, another
process builds a table and a view in the same warehouse and exits: the module's session is then
the next CLI invocation, which must find them. Spark jobs are slow, so tests check several things
per query.

Without pyspark or Java the tests skip; with ``CLG_REQUIRE_ENGINES=1`` (CI) they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from sqlglot import exp

from clg_metrics.engines import connect
from clg_metrics.errors import BuildError, EngineError
from clg_metrics.profiles import SparkTarget

STAGED = "__clg_next__"
REQUIRED = os.environ.get("CLG_REQUIRE_ENGINES") == "1"
SCRIPT_HEAD = """
import sys
from pathlib import Path
from clg_metrics.engines import connect
from clg_metrics.errors import EngineError
from clg_metrics.profiles import SparkTarget
"""
# What `clg-metrics build` leaves behind, in a process of its own (warehouse: target/spark-warehouse).
WRITER = SCRIPT_HEAD + textwrap.dedent("""
    target = SparkTarget(type="spark", master="local[1]", database="persisted", threads=1)
    engine = connect(target, Path(sys.argv[1]))
    engine.create_table_as("kept", "SELECT 7 AS id, TIMESTAMP '2024-03-01 12:00:00.250000' AS at")
    engine.create_view_as("kept_view", "SELECT id + 1 AS next_id FROM persisted.kept")
    engine.close()
""")
# connect() in a fresh process, where no session runs yet: prints the EngineError, if any.
CONNECT = SCRIPT_HEAD + textwrap.dedent("""
    try:
        connect(SparkTarget(type="spark", database=sys.argv[2]), Path(sys.argv[1]), read_only=sys.argv[3] == "ro")
    except EngineError as exc:
        print("EngineError:", exc)
""")


def _unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"Spark not available: {reason} (CLG_REQUIRE_ENGINES=1)", pytrace=False)
    pytest.skip(f"Spark not available: {reason}")


def _run(script: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=900,
                          env=env)


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    """The module's engine (it owns the session unless one was already running) and its project."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        _unavailable("pyspark is not installed (pip install 'clg-metrics[spark]')")
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        _unavailable("no Java (install openjdk-17-jre-headless)")
    scratch = os.environ.get("CLG_TEST_SPARK_WAREHOUSE")
    project = (Path(scratch) if scratch else tmp_path_factory.mktemp("spark")) / f"engine_{uuid.uuid4().hex[:8]}"
    project.mkdir(parents=True)
    writer = _run(WRITER, str(project))
    target = SparkTarget(type="spark", master="local[2]", database="clg_engine_tests", threads=2,
                         warehouse_dir=str(project / "target" / "spark-warehouse"))
    try:
        engine = connect(target, project)
    except EngineError as exc:
        _unavailable(str(exc))
    yield SimpleNamespace(engine=engine, project=project, target=target, writer=writer)
    engine.close()


@pytest.fixture
def engine(spark, request):
    """An engine on a database of this test's own, in the module's session."""
    name = "t_" + request.node.name.removeprefix("test_")[:40] + "_" + uuid.uuid4().hex[:6]
    return connect(spark.target.model_copy(update={"database": name}), spark.project)


def test_load_relation_keeps_types_and_values(engine, tmp_path):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    relation = con.sql("""
        SELECT * FROM (VALUES
            (1::BIGINT, 1.5::DOUBLE, 'café "quoted" it''s' || chr(10) || 'line 2',
             TIMESTAMP '2024-01-02 03:04:05.123456', '{"plan": "pro"}'::JSON, DATE '2024-02-29', true,
             TIMESTAMPTZ '2024-01-02 03:04:05+02', 12.34::DECIMAL(10, 2), uuid()),
            (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
        ) AS t(id, score, label, seen_at, props, day, flag, at_tz, amount, token)""")
    assert engine.load_relation("loaded", relation) == 2
    (tmp_path / "events.csv").write_text("user_id,event,ts\n1,signup,2024-01-01 10:00:00\n"
                                         "2,é,2024-01-02 11:30:00.5\n")
    assert engine.load_csv("seed", tmp_path / "events.csv") == 2

    _, types = engine.fetch(f"DESCRIBE TABLE {engine.quote('loaded')}")
    assert [(name, kind) for name, kind, _ in types] == [
        ("id", "bigint"), ("score", "double"), ("label", "string"), ("seen_at", "timestamp_ntz"),
        ("props", "string"), ("day", "date"), ("flag", "boolean"), ("at_tz", "timestamp_ntz"),
        ("amount", "decimal(10,2)"), ("token", "string")]
    names = ["id", "score", "label", "seen_at", "props", "day", "flag", "at_tz", "amount"]
    columns, rows = engine.fetch(f"SELECT {', '.join(names)}, length(token) FROM {engine.quote('loaded')} "
                                 "ORDER BY id NULLS LAST")
    assert columns[:9] == names
    assert rows == [
        (1, 1.5, 'café "quoted" it\'s\nline 2', datetime(2024, 1, 2, 3, 4, 5, 123456), '{"plan": "pro"}',
         date(2024, 2, 29), True, datetime(2024, 1, 2, 1, 4, 5), Decimal("12.34"), 36),
        (None,) * 10]
    _, seed = engine.fetch(f"SELECT user_id, event, ts FROM {engine.quote('seed')} ORDER BY user_id")
    assert seed == [(1, "signup", datetime(2024, 1, 1, 10)), (2, "é", datetime(2024, 1, 2, 11, 30, 0, 500000))]


def test_columns_tables_and_drop(engine):
    assert engine.tables() == []
    engine.create_table_as("b_table", "SELECT 1 AS id, 'x' AS name")
    engine.create_view_as("a_view", f"SELECT name, id FROM {engine.quote('b_table')}")
    engine.spark.range(1).createOrReplaceTempView("temp_only")  # of the session, not the database
    assert engine.tables() == ["a_view", "b_table"]
    assert engine.columns("b_table") == ["id", "name"]
    assert engine.columns(f"{engine.schema}.a_view") == ["name", "id"]
    assert engine.columns("missing") is None
    assert engine.columns("no_such_database.b_table") is None
    engine.drop(["a_view", "b_table", "never_existed"])
    assert engine.tables() == []


def test_create_table_as_and_create_view_as_replace_either_kind(engine):
    assert engine.create_table_as("x", "SELECT id FROM range(3)") == 3
    engine.create_view_as("x", "SELECT 'view' AS kind")  # a table replaced by a view
    assert engine.create_table_as("y", "SELECT 1 AS n") == 1
    assert engine.create_table_as("y", "SELECT n FROM VALUES (1), (2), (3), (4) AS t(n) WHERE n > 1") == 3
    assert engine.create_table_as("empty", "SELECT 1 AS n WHERE false") == 0
    engine.create_view_as("v", "SELECT 1 AS n")
    assert engine.create_table_as("v", "SELECT 2 AS n") == 1  # a view replaced by a table
    x, y, v = (engine.quote(n) for n in "xyv")
    assert engine.fetch(f"SELECT (SELECT kind FROM {x}), (SELECT sum(n) FROM {y}), (SELECT n FROM {v})")[1] \
        == [("view", 9, 2)]
    assert engine._kinds() == {"empty": "TABLE", "v": "TABLE", "x": "VIEW", "y": "TABLE"}


def test_sql_errors_raise_with_a_first_line_and_print_nothing(engine, capfd):
    with pytest.raises(Exception) as raised:
        engine.create_table_as("bad", "SELECT no_such_column FROM range(1)")
    assert "no_such_column" in str(raised.value).splitlines()[0]
    assert capfd.readouterr() == ("", "")  # pyspark would log the error as JSON on stderr


def _stage(engine, a: int, b: int) -> None:
    engine.create_table_as(STAGED + "a", f"SELECT {a} AS a")
    engine.create_table_as(STAGED + "b", f"SELECT {b} AS b")
    engine.create_view_as(STAGED + "v", f"SELECT a FROM {engine.quote(STAGED + 'a')}")


def _published(engine) -> tuple:
    a, b, v = (engine.quote(n) for n in "abv")
    return engine.fetch(f"SELECT (SELECT a FROM {a}), (SELECT b FROM {b}), "
                        f"(SELECT concat(CAST(a AS STRING), ':', tag) FROM {v})")[1][0]


def test_publish_swaps_tables_and_recreates_views(engine):
    for build in (1, 2):
        _stage(engine, 10 * build, 20 * build)
        view = f"SELECT a, 'build{build}' AS tag FROM {engine.quote('a')}"
        engine.publish([(STAGED + "a", "a"), (STAGED + "b", "b")], [(STAGED + "v", "v", view)])
        assert engine._kinds() == {"a": "TABLE", "b": "TABLE", "v": "VIEW"}  # no staged twin, no backup
    assert _published(engine) == (20, 40, "20:build2")


def test_failing_publish_keeps_the_previous_outputs(engine):
    view = f"SELECT a, 'first' AS tag FROM {engine.quote('a')}"
    _stage(engine, 1, 2)
    engine.publish([(STAGED + "a", "a"), (STAGED + "b", "b")], [(STAGED + "v", "v", view)])

    _stage(engine, 100, 200)
    engine.drop([STAGED + "b"])  # the second swap fails after the first one was done
    with pytest.raises(BuildError, match="publishing the build failed, the previous outputs are kept"):
        engine.publish([(STAGED + "a", "a"), (STAGED + "b", "b")], [])
    assert _published(engine) == (1, 2, "1:first")

    # Every table swapped, then a view fails: the tables go back, the replaced view gets its old SQL.
    broken = f"SELECT no_such_column FROM {engine.quote('a')}"
    with pytest.raises(BuildError, match="previous outputs are kept.*no_such_column"):
        engine.publish([(STAGED + "a", "a")], [(STAGED + "v", "v", view.replace("first", "second")),
                                               (STAGED + "w", "w", broken)])
    assert _published(engine) == (1, 2, "1:first")
    assert engine._kinds() == {"a": "TABLE", "b": "TABLE", "v": "VIEW", STAGED + "a": "TABLE"}


def test_tables_and_views_persist_into_the_next_process(spark):
    assert (spark.writer.returncode, spark.writer.stdout, spark.writer.stderr) == (0, "", "")  # a clean console
    state = spark.project / "target" / "spark-warehouse" / "_clg_metastore"
    assert {p.name for p in state.iterdir()} >= {"log4j2.properties", "metastore_db", "spark.log", "derby.log"}
    assert not (spark.project / "derby.log").exists() and not (Path.cwd() / "derby.log").exists()
    if not spark.engine.owned:
        pytest.skip("the module reused a session started elsewhere, over another warehouse")
    reader = connect(spark.target.model_copy(update={"database": "persisted"}), spark.project, read_only=True)
    assert reader.tables() == ["kept", "kept_view"]
    _, rows = reader.fetch("SELECT id, at, (SELECT next_id FROM persisted.kept_view) FROM persisted.kept")
    assert rows == [(7, datetime(2024, 3, 1, 12, 0, 0, 250000), 8)]


def test_a_second_process_is_refused_while_the_metastore_is_open(spark):
    if not spark.engine.owned:
        pytest.skip("the module reused a session started elsewhere, over another warehouse")
    result = _run(CONNECT, str(spark.project), "persisted", "ro")
    assert "EngineError:" in result.stdout and "in use by another process" in result.stdout, result


def test_read_only_without_the_database_is_an_engine_error(spark):
    with pytest.raises(EngineError, match="no database `never_built`.*run `clg-metrics build` first"):
        connect(spark.target.model_copy(update={"database": "never_built"}), spark.project, read_only=True)


def test_a_remote_target_refuses_the_classic_session_of_the_process(spark):
    # (a notebook's local session): reused, it would take the build meant for the Connect server
    target = SparkTarget(type="spark", remote="sc://127.0.0.1:1", database="not_here")
    with pytest.raises(EngineError, match="classic Spark session already runs.*`remote: sc://127.0.0.1:1` needs"):
        connect(target, spark.project)
    assert not spark.engine.spark.catalog.databaseExists("not_here")


def test_no_warehouse_or_no_java_fail_before_spark_starts(tmp_path):
    # In fresh processes: in this one a session is running, which a new engine would reuse.
    without_java = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    without_java["PATH"] = str(Path(sys.executable).parent)
    no_warehouse = _run(CONNECT, str(tmp_path), "clg", "ro")
    no_java = _run(CONNECT, str(tmp_path), "clg", "rw", env=without_java)
    assert "EngineError:" in no_warehouse.stdout and "no Spark warehouse yet" in no_warehouse.stdout, no_warehouse
    assert "EngineError: no Java found: Spark needs Java 17+" in no_java.stdout, no_java


def test_checks_run_through_great_expectations_on_a_spark_batch(engine):
    from clg_metrics.checks.derive import BATCH, UNEXPECTED_ROWS, CheckSpec
    from clg_metrics.checks.gx import run_checks

    engine.create_table_as("people", "SELECT * FROM VALUES (1, 'ann'), (2, NULL), (3, NULL), (4, 'bo') "
                                     "AS t(id, name)")
    late = exp.select("*").from_(exp.to_table(BATCH)).where("id > 2")
    not_null = "ExpectColumnValuesToNotBeNull"
    checks = [CheckSpec("people.name.not_null", "people", not_null, {"column": "name"}, column="name"),
              CheckSpec("people.late", "people", UNEXPECTED_ROWS, {"description": "late"}, query=late),
              CheckSpec("gone.id.not_null", "gone", not_null, {"column": "id"}, column="id")]
    results = run_checks(engine, checks, lambda relation: f"{engine.schema}.{relation}")
    assert {r.check.name: (r.status, r.unexpected_count) for r in results} == {
        "people.name.not_null": ("fail", 2), "people.late": ("fail", 2), "gone.id.not_null": ("error", None)}
    assert sorted(json.loads(results[1].sample)) == [[3, None], [4, "bo"]]
