"""Rendering for other dialects: `compile --dialect/--target`, the lowering of DuckDB-only
constructs, and the refusal to translate what would not mean the same elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from clg_metrics.compiler.sqlfns import col, nth_smallest, row_hash
from clg_metrics.dialects import lower, to_sql
from clg_metrics.errors import CompileError
from conftest import cli, copy_demo

COMPILE_ONLY = ("snowflake", "bigquery", "trino", "databricks", "redshift")


@pytest.fixture
def demo(tmp_path) -> Path:
    return copy_demo(tmp_path / "demo")


def compiled_files(root: Path) -> dict[str, str]:
    return {p.relative_to(root / "target" / "compiled").as_posix(): p.read_text()
            for p in sorted((root / "target" / "compiled").rglob("*.sql"))}


@pytest.mark.parametrize("dialect", ("duckdb", "postgres", "spark") + COMPILE_ONLY)
def test_compile_dialect_emits_sql_that_parses_back(demo, dialect):
    code, output = cli("compile", "--dialect", dialect, project_dir=demo)
    assert code == 0, output
    assert f"for {dialect}" in output
    files = compiled_files(demo)
    assert "journey/progress__audience_research.sql" in files and "output/funnel.sql" in files
    for name, sql in files.items():
        parsed = sqlglot.parse(sql, read=dialect)
        assert [s for s in parsed if s is not None], name
        if dialect != "duckdb":
            # DuckDB's bounded top-n and epoch functions never leak into another dialect
            assert "EPOCH_US" not in sql.upper(), name
            assert not any(m.args.get("count") for s in parsed if s for m in s.find_all(exp.Min)), name


def test_compile_uses_the_targets_engine_and_dialect_overrides_it(demo):
    (demo / "profiles.yml").write_text(
        "clg_metrics:\n  target: dev\n  outputs:\n"
        "    dev: {type: duckdb, path: target/x.duckdb}\n"
        "    wh: {type: postgres, host: db.example, user: u, password: \"{{ env_var('NO_SUCH_PW', '') }}\","
        " dbname: d, schema: analytics}\n")
    assert cli("compile", "--target", "wh", project_dir=demo)[0] == 0
    journey = compiled_files(demo)["leaves/progress_leaves__audience_research.sql"]
    assert "ARRAY_AGG" in journey and "FILTER" in journey  # PostgreSQL's n-th smallest
    assert cli("compile", project_dir=demo)[0] == 0  # the profile's default target: DuckDB
    # DuckDB's bounded top-n (in the leaf state), one state of the largest n (10) for the demo's 5 and 10 searches
    assert "MIN(\"occurred_at\", 10)" in compiled_files(demo)["leaves/progress_leaves__audience_research.sql"]
    code, output = cli("compile", "--target", "wh", "--dialect", "spark", project_dir=demo)
    assert code == 0 and "for spark" in output
    assert "ARRAY_SORT" in compiled_files(demo)["leaves/progress_leaves__audience_research.sql"]


def test_unknown_dialect_is_a_usage_error(demo):
    code, output = cli("compile", "--dialect", "snowflakes", project_dir=demo)
    assert code == 2
    assert "unknown SQL dialect `snowflakes`" in output


@pytest.mark.parametrize("sql, construct", [
    ("SELECT * EXCLUDE (event_id) FROM raw_events", "SELECT * EXCLUDE"),
    ("SELECT my_udf(event) AS e FROM raw_events", "function `my_udf`"),
])
def test_sql_model_that_cannot_be_translated_is_an_error_naming_it(demo, sql, construct):
    (demo / "sql" / "odd.sql").write_text(sql + "\n")
    code, output = cli("compile", "--dialect", "postgres", project_dir=demo)
    assert code == 2, output
    assert "odd.sql" in output and construct in output and "to postgres" in output
    assert cli("compile", "--dialect", "duckdb", project_dir=demo)[0] == 0  # fine where it was written


def test_project_sql_dialect_reads_models_in_that_dialect(demo):
    config = demo / "clg_project.yml"
    config.write_text(config.read_text() + "sql_dialect: spark\n")
    (demo / "sql" / "spark_model.sql").write_text("SELECT `user_id` AS uid, event FROM raw_events\n")
    assert cli("compile", "--dialect", "duckdb", project_dir=demo)[0] == 0
    assert '"user_id" AS uid' in " ".join(compiled_files(demo)["sql/spark_model.sql"].split())


@pytest.mark.parametrize("dialect", ["postgres", "spark", "snowflake", "trino", "bigquery"])
def test_nth_smallest_lowering_is_a_safe_element_of_a_sorted_array(dialect):
    tree = exp.select(exp.alias_(nth_smallest(col("ts"), 3, exp.column("e").eq("x")), "third")).from_("t")
    lowered = lower(tree, dialect)
    assert not any(m.args.get("count") for m in lowered.find_all(exp.Min))
    bracket = lowered.find(exp.Bracket)
    assert bracket.args.get("safe") and bracket.expressions[0].name == "2"  # 0-based 3rd, shifted per dialect
    sql = to_sql(tree, dialect)
    assert sqlglot.parse_one(sql, read=dialect) is not None
    if dialect == "spark":
        assert "ARRAY_SORT(COLLECT_LIST" in sql and "TRY_ELEMENT_AT" in sql and sql.endswith(", 3) AS third FROM t")


def test_duckdb_rendering_is_unchanged_by_lowering():
    tree = exp.select(exp.alias_(nth_smallest(col("ts"), 3, None), "x")).from_("t")
    assert lower(tree, "duckdb") is tree
    assert to_sql(tree, "duckdb") == 'SELECT (MIN("ts", 3))[3] AS x FROM t'


def test_incremental_row_hash_has_no_compile_only_form():
    tree = exp.select(row_hash("clg_row")).from_(exp.alias_(exp.to_table("t"), "clg_row"))
    assert "HASHTEXTEXTENDED" in to_sql(tree, "postgres").upper()
    assert "XXHASH64(clg_row.*)" in to_sql(tree, "spark")
    with pytest.raises(CompileError, match="incremental builds are not available for snowflake"):
        to_sql(tree, "snowflake")
