"""A sql/ model is a query and nothing else (issue 11).

Before, ``WITH d AS (DELETE FROM milestone_status RETURNING *) SELECT count(*) AS n FROM d``
validated and, on DuckDB, deleted the published rows. Each case here adds one hostile model to a
built copy of the demo, then requires ``build`` to stop at validation (exit 2, the file and line,
what to change) with the published outputs and the seeds exactly as they were.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from clg_metrics.sql_models import REFUSED_FUNCTIONS, parse_sql_model
from conftest import cli, copy_demo


@pytest.fixture(scope="module")
def built_demo(tmp_path_factory):
    root = copy_demo(tmp_path_factory.mktemp("safety") / "demo")
    code, output = cli("build", "--skip-checks", project_dir=root)
    assert code == 0, output
    return root


def snapshot(root: Path) -> dict:
    """What a hostile model must not change: published tables and the seed files."""
    with duckdb.connect(str(root / "target" / "clg.duckdb"), read_only=True) as con:
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("milestone_status", "customer_progress", "funnel", "raw_events", "raw_customers")}
        plans = con.execute("SELECT plan, count(*) FROM raw_customers GROUP BY ALL ORDER BY ALL").fetchall()
        tables = sorted(r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall())
    seeds = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((root / "seeds").glob("*.csv"))}
    return {"counts": counts, "plans": plans, "tables": tables, "seeds": seeds}


# name -> (sql text, line of the offending statement, words of the message)
HOSTILE = {
    "delete_outputs_in_cte": ("-- counts the rows it deletes\nWITH d AS (\n    DELETE FROM milestone_status RETURNING *)\n"
                              "SELECT count(*) AS n FROM d\n", 3, "a DELETE statement inside the query"),
    "delete_seed_in_cte": ("WITH d AS (DELETE FROM raw_events RETURNING *)\nSELECT count(*) AS n FROM d\n", 1,
                           "a DELETE statement inside the query"),
    "update_in_cte": ("WITH u AS (\n  UPDATE raw_customers SET plan = 'pwned' RETURNING *\n)\nSELECT * FROM u\n", 2,
                      "an UPDATE statement inside the query"),
    "insert_in_cte": ("SELECT 1 AS n\nUNION ALL\nSELECT n FROM (WITH i AS (INSERT INTO raw_customers "
                      "SELECT * FROM raw_customers RETURNING 1 AS n) SELECT n FROM i)\n", 3,
                      "an INSERT statement inside the query"),
    "merge_in_cte": ("WITH m AS (MERGE INTO raw_customers USING raw_customers AS s ON raw_customers.user_id = "
                     "s.user_id\n  WHEN MATCHED THEN DELETE)\nSELECT 1 AS n\n", 1, "a MERGE statement inside the query"),
    "create": ("\nCREATE OR REPLACE TABLE milestone_status AS SELECT 1 AS n\n", 2,
               "this file holds a CREATE TABLE statement"),
    "drop": ("SELECT 1 AS n;\n\nDROP TABLE raw_events;\n", 3, "this file holds a DROP TABLE statement"),
    "copy": ("COPY raw_customers TO 'stolen.csv' (HEADER)\n", 1, "this file holds a COPY statement"),
    "attach": ("SELECT 1 AS n;\nATTACH 'other.duckdb' AS other\n", 2, "this file holds an ATTACH statement"),
    "pragma": ("PRAGMA enable_profiling;\nSELECT 1 AS n\n", 1, "this file holds a PRAGMA statement"),
    "set": ("SET threads = 1;\nSELECT 1 AS n\n", 1, "this file holds a SET statement"),
    "install": ("INSTALL httpfs\n", 1, "this file holds an INSTALL statement"),
    "select_into": ("SELECT *\nINTO stolen\nFROM raw_customers\n", 2, "`SELECT ... INTO` creates a table"),
    "for_update": ("SELECT * FROM raw_customers\nFOR UPDATE\n", 1, "locks rows"),
    "read_csv": ("SELECT *\nFROM read_csv('seeds/raw_customers.csv')\n", 2, "table function `read_csv(...)`"),
    "query_table_function": ("SELECT * FROM query('DELETE FROM raw_events RETURNING *')\n", 1,
                             "table function `query(...)`"),
    "file_as_table": ("SELECT * FROM 'seeds/raw_events.csv'\n", 1, "looks like a file or URL"),
    "read_text": ("SELECT read_text('/etc/passwd') AS secret\n", 1, "`read_text(...)` reads or changes"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_model_that_is_not_just_a_query_is_refused_and_nothing_changes(built_demo, case):
    root = built_demo
    text, line, says = HOSTILE[case]
    before = snapshot(root)
    model = root / "sql" / f"{case}.sql"
    model.write_text(text)
    try:
        for command in ("validate", "build"):
            code, output = cli(command, project_dir=root)
            assert code == 2, output
            assert f"{model}:{line}: " in output, output
            assert says in output, output
            assert "(" in output.split(says, 1)[1], output  # a hint what to change follows
    finally:
        model.unlink()
    assert snapshot(root) == before
    assert not (root / "stolen.csv").exists() and not (root / "other.duckdb").exists()


READ_ONLY = [
    "SELECT * FROM raw_events TABLESAMPLE 10%",
    "SELECT * EXCLUDE (properties) FROM raw_events",
    "SELECT user_id, count(*) FILTER (WHERE event = 'search') AS searches FROM raw_events GROUP BY ALL",
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ts) AS m FROM raw_events",
    "SELECT * FROM raw_events QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY ts) = 1",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
    "SELECT properties->>'$.format' AS f, json_extract(properties, '$.x') AS x FROM raw_events",
    "SELECT INTERVAL 1 DAY AS d, DATE '2020-01-01' AS day, [1, 2][1:2] AS s, {'a': 1} AS st",
    "SELECT list_transform([1], x -> x + 1) AS l, [x FOR x IN [1, 2]] AS c",
    "SELECT * FROM raw_events AS e ASOF JOIN raw_customers AS c ON e.user_id = c.user_id AND e.ts >= c.created_at",
    "SELECT * FROM range(10) AS r(i)",
    "SELECT * FROM generate_series(1, 3) AS g(i) CROSS JOIN unnest([1, 2]) AS u(x)",
    "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(id, name)",
    "SELECT a FROM (SELECT 1 AS a) UNION SELECT 2 INTERSECT SELECT 2 EXCEPT SELECT 3",
    "SELECT user_id FROM raw_events WHERE user_id IN (SELECT user_id FROM raw_customers) AND EXISTS (SELECT 1)",
    "SELECT now() AS t, current_date AS d, random() AS r, uuid() AS u, md5('x') AS h",
    "SELECT * FROM (PIVOT raw_customers ON plan USING count(*))",
    "SELECT 1 AS n -- a comment\n/* another */",
]


@pytest.mark.parametrize("text", READ_ONLY)
def test_read_only_queries_are_accepted(text):
    source = parse_sql_model(Path("m.sql"), text, "duckdb", {})
    assert source.query is not None


@pytest.mark.parametrize("dialect,text", [
    ("postgres", "SELECT e.value FROM raw_events, jsonb_array_elements(raw_events.properties::jsonb) AS e"),
    ("spark", "SELECT * FROM raw_events LATERAL VIEW explode(array(1, 2)) e AS x DISTRIBUTE BY x SORT BY x"),
])
def test_read_only_queries_of_other_dialects_are_accepted(dialect, text):
    parse_sql_model(Path("m.sql"), text, dialect, {})


@pytest.mark.parametrize("dialect,text,says", [
    ("postgres", "WITH d AS (DELETE FROM raw_events RETURNING *) SELECT count(*) AS n FROM d", "DELETE"),
    ("postgres", "SELECT pg_read_file('/etc/passwd') AS f", "pg_read_file"),
    ("postgres", "SELECT * FROM dblink('other', 'DELETE FROM t') AS t(a int)", "dblink"),
    ("postgres", "SELECT set_config('search_path', 'other', false) AS s", "set_config"),
    ("spark", "SELECT reflect('java.lang.Runtime', 'getRuntime') AS r", "reflect"),
])
def test_side_effects_of_other_dialects_are_refused(dialect, text, says):
    with pytest.raises(ValueError) as info:
        parse_sql_model(Path("m.sql"), text, dialect, {})
    assert says in str(info.value.args[0])


# --- fuzz: whatever parses, what is accepted holds no statement and no refused function ------------

FRAGMENTS = ["SELECT", "*", "1 AS n", "FROM", "raw_events", "WITH", "d", "AS", "(", ")", ",", ";", "DELETE",
             "FROM t", "UPDATE t SET a = 1", "INSERT INTO t VALUES (1)", "RETURNING *", "MERGE INTO t USING s ON 1=1",
             "WHEN MATCHED THEN DELETE", "CREATE TABLE x AS", "DROP TABLE t", "COPY t TO 'x'", "ATTACH 'x'",
             "PRAGMA x", "SET a = 1", "INTO x", "FOR UPDATE", "read_csv('x')", "query('x')", "'x.csv'", "UNION ALL",
             "WHERE", "a IN", "EXISTS", "LATERAL", "unnest([1])", "range(3)", "nextval('s')", "getenv('x')"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14).map(" ".join))
def test_fuzz_accepted_models_are_read_only(text):
    try:
        source = parse_sql_model(Path("m.sql"), text, "duckdb", {})
    except ValueError as exc:
        assert str(exc.args[0]).startswith("m.sql:"), exc  # a located problem, never another error
        return
    for node in source.query.walk():
        assert not isinstance(node, (exp.DML, exp.DDL, exp.Command, exp.Into, exp.Lock)), (text, node)
        if isinstance(node, exp.Anonymous):
            assert str(node.this).lower() not in REFUSED_FUNCTIONS, text
