"""The PostgreSQL engine on a real server: loading, replacing, publishing, errors and GX.

The server comes from ``.ci/with-servers``, which exports ``CLG_TEST_PG_HOST``, ``_PORT``,
``_USER`` and ``_DBNAME`` (trust auth) and ``CLG_REQUIRE_ENGINES=1``. Without those variables the
server tests skip; with ``CLG_REQUIRE_ENGINES=1`` an unreachable server fails them instead, so CI
can never pass by skipping. Every test works in a fresh schema of its own, dropped at the end.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from sqlglot import exp

from clg_metrics.engines import connect
from clg_metrics.engines.postgres import PostgresEngine, postgres_type
from clg_metrics.errors import EXIT_FAILED, EXIT_USAGE, BuildError, EngineError
from clg_metrics.profiles import PostgresTarget

psycopg = pytest.importorskip("psycopg")

STAGED = "__clg_next__"


# --- the server -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server() -> dict:
    """Connection settings of the test server; skip (or fail under CLG_REQUIRE_ENGINES=1) without one."""
    names = ("HOST", "PORT", "USER", "DBNAME")
    values = {n: os.environ.get(f"CLG_TEST_PG_{n}") for n in names}
    required = os.environ.get("CLG_REQUIRE_ENGINES") == "1"
    if not all(values.values()):
        if required:
            missing = ", ".join(f"CLG_TEST_PG_{n}" for n in names if not values[n])
            pytest.fail(f"CLG_REQUIRE_ENGINES=1 but {missing} not set")
        pytest.skip("PostgreSQL not available: run the tests through .ci/with-servers (see README)")
    settings = {"host": values["HOST"], "port": int(values["PORT"]), "user": values["USER"],
                "dbname": values["DBNAME"]}
    try:
        psycopg.connect(connect_timeout=5, **settings).close()
    except psycopg.Error as exc:
        message = f"PostgreSQL at {settings['host']}:{settings['port']} not reachable: {exc}"
        if required:
            pytest.fail(message)
        pytest.skip(message)
    return settings


def make_target(server: dict, **overrides) -> PostgresTarget:
    return PostgresTarget.model_validate({"type": "postgres", "connect_timeout": 5, **server, **overrides})


@pytest.fixture
def schema(server):
    """A fresh schema name, dropped (with everything in it, and its ``_other`` twin) when the test ends."""
    name = f"clg_test_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(autocommit=True, **server) as con:
        for schema in (name, name + "_other"):
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def engine(server, schema, tmp_path):
    eng = connect(make_target(server, schema=schema), tmp_path)
    yield eng
    eng.close()


def column_types(engine, table: str) -> dict[str, str]:
    """Column name -> type as PostgreSQL spells it (``format_type``), in column order."""
    relation = engine.quote(table)
    rows = engine.con.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        [relation]).fetchall()
    return dict(rows)


# --- connecting -----------------------------------------------------------------------------------

def test_connect_creates_the_schema_and_sets_up_the_session(engine, server, schema):
    assert isinstance(engine, PostgresEngine) and engine.dialect == "postgres" and engine.schema == schema
    with psycopg.connect(**server) as other:
        assert other.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone() == (1,)
    _, rows = engine.fetch("SELECT current_setting('TimeZone'), current_setting('application_name'), "
                           "current_schemas(false)")
    assert rows == [("UTC", "clg-metrics", [schema])]
    assert engine.tables() == []
    # Unqualified names resolve in the profile's schema (staged twins and views rely on it).
    engine.execute("CREATE TABLE plain AS SELECT 1 AS x")
    assert engine.tables() == ["plain"]


def test_read_only_creates_nothing_and_writes_nothing(server, schema, tmp_path):
    engine = connect(make_target(server, schema=schema), tmp_path, read_only=True)
    try:
        assert engine.tables() == []
        assert engine.fetch("SELECT count(*) FROM pg_namespace WHERE nspname = current_schema()")[1] == [(0,)]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            engine.execute("CREATE TABLE public.clg_should_not_exist (x int)")
        assert engine.fetch("SELECT 1")[1] == [(1,)]  # the failed statement left the connection usable
    finally:
        engine.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_wrong_port_is_an_engine_error_naming_host_and_port(server, tmp_path):
    port = _closed_port()
    with pytest.raises(EngineError) as info:
        connect(make_target(server, host="127.0.0.1", port=port), tmp_path)
    message = str(info.value)
    assert f"127.0.0.1:{port}/{server['dbname']}" in message
    assert "check that the server is running" in message
    assert "\n" not in message and "Traceback" not in message
    assert info.value.exit_code == EXIT_USAGE


def test_wrong_dbname_is_an_engine_error_naming_the_database(server, tmp_path):
    with pytest.raises(EngineError) as info:
        connect(make_target(server, dbname="clg_no_such_db"), tmp_path)
    message = str(info.value)
    assert f"{server['host']}:{server['port']}/clg_no_such_db" in message
    assert 'database "clg_no_such_db" does not exist' in message
    assert "check `dbname`" in message and "\n" not in message


def test_a_user_without_create_on_the_database_uses_an_existing_schema(engine, server, schema, tmp_path):
    role = f"clg_test_role_{uuid.uuid4().hex[:8]}"
    engine.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        # The schema exists: no CREATE privilege needed.
        connect(make_target(server, user=role, schema=schema), tmp_path).close()
        expected = f"schema `{schema}_new` as {role}: permission denied.*grant CREATE.* to {role}"
        with pytest.raises(EngineError, match=expected):
            connect(make_target(server, user=role, schema=schema + "_new"), tmp_path)
    finally:
        engine.execute(f'DROP ROLE "{role}"')


# --- loading ---------------------------------------------------------------------------------------

NASTY = "it's \"quoted\"\nnew line\ttab \\backslash, ü € 😀"


def test_load_relation_round_trips_types_and_values(engine):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    relation = con.sql("""
        SELECT * FROM (VALUES
          (1::BIGINT, 1.5::DOUBLE, $1::VARCHAR, TIMESTAMP '2024-02-29 23:59:59.123456',
           '{"a": [1, "x"]}'::JSON, TRUE, DATE '2024-01-31', 12.345::DECIMAL(18, 3),
           18446744073709551615::UBIGINT, [1, 2]::INTEGER[], {'k': 'v'}, INTERVAL 1 MONTH,
           TIMESTAMPTZ '2024-01-01 05:00:00+02'),
          (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (-9007199254740993::BIGINT, 1e300::DOUBLE, '', TIMESTAMP '1970-01-01 00:00:00.000001', 'null'::JSON,
           FALSE, DATE '1999-12-31', -0.001::DECIMAL(18, 3), 0::UBIGINT, []::INTEGER[],
           {'k': NULL}, INTERVAL 90 MINUTE, NULL)
        ) AS t(i, d, s, ts, j, b, dt, dec, u, l, st, iv, tz)
    """, params=[NASTY])
    assert engine.load_relation("loaded", relation) == 3
    assert column_types(engine, "loaded") == {
        "i": "bigint", "d": "double precision", "s": "text", "ts": "timestamp without time zone", "j": "json",
        "b": "boolean", "dt": "date", "dec": "numeric(18,3)", "u": "numeric(20,0)", "l": "integer[]",
        "st": "json", "iv": "interval", "tz": "timestamp with time zone"}
    _, rows = engine.fetch('SELECT i, d, s, ts, j, b, dt, dec, u, l, st, iv::text, tz::text FROM loaded '
                           'ORDER BY i NULLS LAST')
    assert rows[0] == (-9007199254740993, 1e300, "", datetime(1970, 1, 1, 0, 0, 0, 1), "null", False,
                       date(1999, 12, 31), Decimal("-0.001"), Decimal(0), [], '{"k":null}', "01:30:00", None)
    assert rows[1] == (1, 1.5, NASTY, datetime(2024, 2, 29, 23, 59, 59, 123456), '{"a": [1, "x"]}', True,
                       date(2024, 1, 31), Decimal("12.345"), Decimal("18446744073709551615"), [1, 2],
                       '{"k":"v"}', "1 mon", "2024-01-01 03:00:00+00")
    assert rows[2] == (None,) * 13
    assert json.loads(rows[1][4]) == {"a": [1, "x"]}


def test_load_csv_gets_duckdbs_inferred_types(engine, tmp_path):
    csv = tmp_path / "events.csv"
    csv.write_text('id,name,score,at\n1,"a, ""b""",1.25,2024-01-01 10:00:00.5\n2,,2,2024-01-02 00:00:00\n')
    assert engine.load_csv("events", csv) == 2
    assert column_types(engine, "events") == {"id": "bigint", "name": "text", "score": "double precision",
                                              "at": "timestamp without time zone"}
    assert engine.fetch("SELECT * FROM events ORDER BY id")[1] == [
        (1, 'a, "b"', 1.25, datetime(2024, 1, 1, 10, 0, 0, 500000)), (2, None, 2.0, datetime(2024, 1, 2))]


def test_a_load_that_fails_midway_keeps_the_previous_table(engine):
    engine.execute("CREATE TABLE seed AS SELECT 1 AS old")
    con = duckdb.connect()
    failing = con.sql("SELECT CASE WHEN i < 25000 THEN i ELSE error('bad row') END AS i "
                      "FROM range(30000) AS t(i)")
    with pytest.raises(Exception, match="bad row"):
        engine.load_relation("seed", failing)
    assert engine.fetch("SELECT * FROM seed")[1] == [(1,)]
    assert engine.load_relation("seed", con.sql("SELECT i FROM range(25000) t(i)")) == 25000
    assert engine.fetch("SELECT count(*), max(i) FROM seed")[1] == [(25000, 24999)]


@pytest.mark.parametrize("duckdb_type, expected, cast", [
    ("TIMESTAMP", "TIMESTAMP", None),
    ("DOUBLE", "DOUBLE PRECISION", None),
    ("JSON", "JSON", None),
    ("VARCHAR", "TEXT", None),
    ("TINYINT", "SMALLINT", None),
    ("UINTEGER", "BIGINT", None),
    ("UBIGINT", "DECIMAL(20, 0)", None),
    ("HUGEINT", "DECIMAL(39, 0)", None),
    ("TIMESTAMP_NS", "TIMESTAMP", None),
    ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "VARCHAR"),
    ("VARCHAR[]", "TEXT[]", None),
    ("STRUCT(a INTEGER)", "JSON", "JSON"),
    ("INTEGER[][]", "JSON", "JSON"),
    ("MAP(VARCHAR, INTEGER)", "JSON", "JSON"),
    ("ENUM('a', 'b')", "TEXT", "VARCHAR"),
    ('"NULL"', "TEXT", "VARCHAR"),
])
def test_duckdb_types_in_postgres_terms(duckdb_type, expected, cast):
    pg_type, needs_cast = postgres_type(duckdb_type)
    assert (pg_type.sql("postgres"), needs_cast) == (expected, cast)


# --- tables, views, replacing -------------------------------------------------------------------------

def test_columns_tables_and_drop(engine):
    engine.execute('CREATE TABLE t AS SELECT 1 AS "b", 2 AS "a", 3 AS "Mixed Case"')
    engine.execute("CREATE VIEW v AS SELECT a FROM t")
    engine.execute("CREATE MATERIALIZED VIEW m AS SELECT b FROM t")
    assert engine.columns("t") == ["b", "a", "Mixed Case"]
    assert engine.columns(f"{engine.schema}.v") == ["a"]
    assert engine.columns("m") == ["b"]
    assert engine.columns("missing") is None
    assert engine.columns("pg_catalog.pg_class")[0] == "oid"
    assert engine.tables() == ["m", "t", "v"]
    engine.execute("ALTER TABLE t DROP COLUMN a CASCADE")  # takes v with it; dropped columns are hidden
    assert engine.columns("t") == ["b", "Mixed Case"]
    assert engine.tables() == ["m", "t"]
    engine.execute("CREATE VIEW v AS SELECT b FROM t")
    engine.drop(["t", "v", "m", "never_existed"])  # table first: views go first anyway
    assert engine.tables() == []


def test_create_table_as_and_view_as_replace_any_relation(engine):
    assert engine.create_table_as("x", "SELECT g FROM generate_series(1, 5) AS g") == 5
    assert engine.create_table_as("x", "SELECT g FROM generate_series(1, 3) AS g") == 3
    assert engine.create_table_as("empty", "SELECT 1 AS g WHERE false") == 0
    engine.create_view_as("x", "SELECT 'view' AS kind")  # a table becomes a view
    assert engine.fetch("SELECT kind FROM x")[1] == [("view",)]
    engine.create_view_as("x", "SELECT 'view 2' AS kind, 1 AS n")  # columns may change
    assert engine.columns("x") == ["kind", "n"]
    assert engine.create_table_as("x", "SELECT 'table' AS kind") == 1  # and back
    assert engine.fetch("SELECT kind FROM x")[1] == [("table",)]
    assert engine.tables() == ["empty", "x"]


def test_a_failing_create_keeps_the_old_relation_and_the_connection(engine):
    engine.create_table_as("x", "SELECT 1 AS g")
    with pytest.raises(psycopg.errors.DivisionByZero):
        engine.create_table_as("x", "SELECT 1 / 0 AS g")
    with pytest.raises(psycopg.errors.UndefinedTable):
        engine.create_view_as("x", "SELECT * FROM no_such_table")
    assert engine.fetch("SELECT g FROM x")[1] == [(1,)]
    assert engine.fetch("SELECT 100 AS ok, '50%' AS pct")[1] == [(100, "50%")]  # no % placeholder parsing


# --- publishing --------------------------------------------------------------------------------------

def _published_build(engine, version: int) -> None:
    """Published tables ``a``, ``b`` and view ``v``, as a build of ``version`` leaves them."""
    engine.create_table_as("a", f"SELECT {version} AS version")
    engine.create_table_as("b", f"SELECT {version} AS version, 'b' AS name")
    engine.create_view_as("v", "SELECT a.version, b.name FROM a CROSS JOIN b")


def _stage(engine, version: int) -> None:
    engine.create_table_as(STAGED + "a", f"SELECT {version} AS version")
    engine.create_table_as(STAGED + "b", f"SELECT {version} AS version, 'b{version}' AS name, true AS new")
    engine.create_view_as(STAGED + "v",
                          f"SELECT a.version, b.name FROM {STAGED}a AS a CROSS JOIN {STAGED}b AS b")


def test_publish_swaps_staged_tables_and_recreates_views(engine):
    _published_build(engine, 1)
    _stage(engine, 2)
    engine.publish([(STAGED + "a", "a"), (STAGED + "b", "b")],
                   [(STAGED + "v", "v", "SELECT a.version, b.name, b.new FROM a CROSS JOIN b")])
    assert engine.tables() == ["a", "b", "v"]
    assert engine.fetch("SELECT * FROM v")[1] == [(2, "b2", True)]
    assert engine.columns("b") == ["version", "name", "new"]
    # A view may replace a table of the same name, and publishing nothing is a no-op.
    engine.create_view_as(STAGED + "a", "SELECT 3 AS version")
    engine.publish([], [(STAGED + "a", "a", "SELECT 3 AS version")])
    engine.publish([], [])
    assert engine.fetch("SELECT * FROM a")[1] == [(3,)]
    # v read table a: dropped with it (CASCADE), then recreated from its definition over the new a.
    assert engine.tables() == ["a", "b", "v"]
    assert engine.fetch("SELECT * FROM v")[1] == [(3, "b2", True)]


def test_publish_keeps_views_over_replaced_tables_when_they_still_fit(engine):
    """A seed-only build republishes raw but not the view model stg over it (nor other tools' views)."""
    other = engine.schema + "_other"
    engine.create_table_as("raw", "SELECT 1 AS id, 'old' AS label, 0 AS gone")
    engine.create_view_as("stg", "SELECT id, upper(label) AS label FROM raw")
    engine.create_view_as("report", "SELECT count(*) AS n, min(label) AS label FROM stg")
    engine.create_view_as("both", "SELECT r.id, s.label FROM raw AS r JOIN stg AS s USING (id)")
    engine.create_view_as("broken", "SELECT gone FROM raw")
    engine.execute("CREATE MATERIALIZED VIEW mat AS SELECT id FROM raw")
    engine.execute(f'CREATE SCHEMA "{other}"')
    engine.execute(f'CREATE VIEW "{other}".theirs AS SELECT label FROM "{engine.schema}".raw')
    engine.create_table_as(STAGED + "raw", "SELECT 2 AS id, 'new' AS label")
    engine.publish([(STAGED + "raw", "raw")], [])
    assert engine.tables() == ["both", "raw", "report", "stg"]  # broken no longer fits; mat is gone
    assert engine.fetch("SELECT * FROM report")[1] == [(1, "NEW")]
    assert engine.fetch('SELECT * FROM "both"')[1] == [(2, "NEW")]
    assert engine.fetch(f'SELECT * FROM "{other}".theirs')[1] == [("new",)]


def test_a_publish_failing_midway_keeps_the_previous_outputs(engine):
    _published_build(engine, 1)
    _stage(engine, 2)
    with pytest.raises(BuildError, match="previous outputs are kept: .*no_such_table") as info:
        engine.publish([(STAGED + "a", "a"), (STAGED + "b", "b")],
                       [(STAGED + "v", "v", "SELECT * FROM a CROSS JOIN no_such_table")])
    assert info.value.exit_code == EXIT_FAILED
    assert engine.fetch("SELECT * FROM v")[1] == [(1, "b")]
    assert engine.fetch("SELECT version FROM a UNION ALL SELECT version FROM b")[1] == [(1,), (1,)]
    assert engine.tables() == sorted([STAGED + "a", STAGED + "b", STAGED + "v", "a", "b", "v"])
    # The connection is usable, and the next try publishes.
    engine.publish([(STAGED + "a", "a"), (STAGED + "b", "b")], [(STAGED + "v", "v", "SELECT * FROM a")])
    assert engine.fetch("SELECT * FROM v")[1] == [(2,)]
    assert engine.tables() == ["a", "b", "v"]


def test_publish_waits_for_a_concurrent_publish_and_readers_see_old_or_new(engine, server):
    _published_build(engine, 1)
    _stage(engine, 2)
    with psycopg.connect(**server) as other:  # another build, in the middle of its publish
        other.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                      [f"clg-metrics publish {engine.schema}"])
        done = threading.Event()
        errors = []

        def run():
            try:
                engine.publish([(STAGED + "a", "a")], [])
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            done.set()

        thread = threading.Thread(target=run)
        thread.start()
        assert not done.wait(0.5), "publish did not wait for the other build's lock"
        other.rollback()  # the other publish ends
        assert done.wait(10)
        thread.join()
    assert not errors
    assert engine.fetch("SELECT version FROM a")[1] == [(2,)]


def test_one_build_per_schema_holds_the_build_lock(engine, server, schema, tmp_path):
    engine.lock_build()
    engine.lock_build()  # reentrant within the session
    second = connect(make_target(server, schema=schema), tmp_path)
    try:
        with pytest.raises(EngineError, match=f"schema `{schema}` at .* in use by another clg-metrics build"):
            second.lock_build()
        engine.close()  # the lock ends with the session
        second.lock_build()
    finally:
        second.close()


# --- great-expectations ---------------------------------------------------------------------------------

CLG_CONNECTIONS = ("SELECT pid FROM pg_stat_activity WHERE application_name = 'clg-metrics' "
                   "AND pid <> pg_backend_pid()")


def test_gx_batch_runs_expectations_on_a_real_table(engine, server):
    from clg_metrics.checks.derive import CheckSpec
    from clg_metrics.checks.gx import _import_gx, run_checks

    # other tests' session-wide engines may be connected too: only this test's may not stay
    with psycopg.connect(**server) as other:
        before = {r[0] for r in other.execute(CLG_CONNECTIONS).fetchall()} - {engine.con.info.backend_pid}

    engine.create_table_as("t", "SELECT i, CASE WHEN i % 4 = 0 THEN NULL ELSE i END AS v, "
                                "CASE WHEN i < 3 THEN 'x' ELSE 'y' END AS w FROM generate_series(1, 20) AS i")
    gx = _import_gx()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    batch = engine.gx_batch(context, 0, exp.table_("t", db=engine.schema))
    result = batch.validate(gx.expectations.ExpectColumnValuesToNotBeNull(column="v"))
    assert not result.success and result.result["unexpected_count"] == 5

    # Through the checks runner as a build runs them, unexpected-rows SQL included.
    from clg_metrics.checks.derive import BATCH
    rows = exp.select("*").from_(BATCH).where("w = 'x'")
    checks = [CheckSpec("t.v.not_null", "t", "ExpectColumnValuesToNotBeNull", {"column": "v"}, column="v"),
              CheckSpec("t.w.in_set", "t", "ExpectColumnValuesToBeInSet",
                        {"column": "w", "value_set": ["y"]}),
              CheckSpec("t.i.unique", "t", "ExpectColumnValuesToBeUnique", {"column": "i"}),
              CheckSpec("t.w.x", "t", "UnexpectedRowsExpectation", {}, query=rows),
              CheckSpec("missing.i", "missing", "ExpectColumnValuesToNotBeNull", {"column": "i"})]
    results = {r.check.name: r for r in run_checks(engine, checks, lambda rel: f"{engine.schema}.{rel}")}
    assert (results["t.v.not_null"].status, results["t.v.not_null"].unexpected_count) == ("fail", 5)
    assert (results["t.w.in_set"].status, results["t.w.in_set"].unexpected_count) == ("fail", 2)
    assert (results["t.i.unique"].status, results["t.i.unique"].unexpected_count) == ("pass", 0)
    assert (results["t.w.x"].status, results["t.w.x"].unexpected_count) == ("fail", 2)
    assert json.loads(results["t.w.x"].sample) == [[1, 1, "x"], [2, 2, "x"]]
    assert results["missing.i"].status == "error"
    engine.close()
    with psycopg.connect(**server) as other:  # GX's connections went with the engine
        left = len({r[0] for r in other.execute(CLG_CONNECTIONS).fetchall()} - before)
    assert left == 0


def test_gx_over_a_unix_socket(engine, server, schema, tmp_path):
    """A host that is a directory: libpq's socket, which GX's add_postgres URL check refuses."""
    directory = engine.fetch("SELECT split_part(current_setting('unix_socket_directories'), ',', 1)")[1][0][0]
    if not directory or not Path(directory, f".s.PGSQL.{server['port']}").exists():
        pytest.skip("the test server's Unix socket is not on this machine")
    from clg_metrics.checks.gx import _import_gx

    engine.create_table_as("t", "SELECT NULL::int AS v UNION ALL SELECT 1")
    over_socket = connect(make_target(server, host=directory.strip(), schema=schema), tmp_path)
    try:
        gx = _import_gx()
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
        batch = over_socket.gx_batch(context, 0, exp.table_("t", db=schema))
        result = batch.validate(gx.expectations.ExpectColumnValuesToNotBeNull(column="v"))
        assert result.result["unexpected_count"] == 1
    finally:
        over_socket.close()


def test_sqlalchemy_url_quotes_credentials():
    target = PostgresTarget(type="postgres", host="db.example.com", port=6543, user="me@corp",
                            password="p@ss:w/rd %$&?", dbname="analytics", sslmode="require")
    engine = PostgresEngine.__new__(PostgresEngine)
    engine.target = target
    url = engine.sqlalchemy_url()
    assert url.startswith("postgresql+psycopg://me%40corp:p%40ss%3Aw%2Frd%20%25%24%26%3F"
                          "@db.example.com:6543/analytics?")
    assert "sslmode=require" in url and "application_name=clg-metrics" in url
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    assert (parsed.username, parsed.password, parsed.host, parsed.port, parsed.database) == (
        "me@corp", "p@ss:w/rd %$&?", "db.example.com", 6543, "analytics")
    engine.target = target.model_copy(update={"host": "/var/run/postgresql", "password": None})
    parsed = make_url(engine.sqlalchemy_url())
    assert parsed.host is None and parsed.query["host"] == "/var/run/postgresql" and parsed.password is None
