"""The compiled-SQL path of the built-in checks gives the same results as great-expectations."""

from __future__ import annotations

import pytest
from sqlglot import exp

from clg_metrics.checks.derive import BATCH, UNEXPECTED_ROWS, CheckSpec
from clg_metrics.checks.fast import run_fast_checks, supports
from clg_metrics.engines import connect
from clg_metrics.profiles import DuckDBTarget


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = connect(DuckDBTarget(type="duckdb", path=":memory:"), tmp_path_factory.mktemp("fast"))
    # 7 NULLs in a, values of b duplicated (1 x3, 2 x2, NULL x2), (c, d) pairs duplicated twice
    engine.execute("""CREATE TABLE t AS SELECT * FROM (VALUES
        (NULL, 1, 'x', 1), (NULL, 1, 'x', 1), (NULL, 1, 'y', 1), (NULL, 2, 'y', 2), (NULL, 2, 'z', 3),
        (NULL, NULL, 'z', 3), (NULL, NULL, NULL, 4), (1, 3, 'w', 5), (2, 4, 'w', 6), (3, 5, 'v', 7)) v(a, b, c, d)""")
    engine.execute("CREATE TABLE clean AS SELECT range AS a, range AS b, range AS c, range AS d FROM range(20)")
    yield engine
    engine.close()


def checks(relation: str) -> list[CheckSpec]:
    over_two = exp.select("*").from_(exp.to_table(BATCH)).where(exp.GT(this=exp.column("d"), expression=exp.Literal.number(2)))
    return [
        CheckSpec("a_not_null", relation, "ExpectColumnValuesToNotBeNull", {"column": "a"}, column="a"),
        CheckSpec("b_not_null", relation, "ExpectColumnValuesToNotBeNull", {"column": "b"}, column="b"),
        CheckSpec("b_unique", relation, "ExpectColumnValuesToBeUnique", {"column": "b"}, column="b"),
        CheckSpec("d_unique", relation, "ExpectColumnValuesToBeUnique", {"column": "d"}, column="d"),
        CheckSpec("cd_unique", relation, "ExpectCompoundColumnsToBeUnique", {"column_list": ["c", "d"]}),
        CheckSpec("d_over_two", relation, UNEXPECTED_ROWS, {}, query=over_two),
    ]


@pytest.mark.parametrize("relation", ["t", "clean"])
def test_fast_path_equals_great_expectations(engine, relation):
    from clg_metrics.checks.gx import run_checks

    specs = checks(relation)
    assert all(supports(c) for c in specs)
    physical = lambda name: f"main.{name}"  # noqa: E731
    fast = {r.check.name: (r.status, r.unexpected_count) for r in run_fast_checks(engine, specs, physical)}
    gx = {r.check.name: (r.status, r.unexpected_count) for r in run_checks(engine, specs, physical)}
    assert fast == gx
    if relation == "t":  # and the counts are the ones worked out by hand above
        assert fast == {"a_not_null": ("fail", 7), "b_not_null": ("fail", 2), "b_unique": ("fail", 5),
                        "d_unique": ("fail", 5), "cd_unique": ("fail", 4), "d_over_two": ("fail", 6)}


def declared_checks(relation: str) -> list[CheckSpec]:
    """Declared expectations with a compiled form, ``mostly`` on both sides of its threshold."""
    def spec(name, expectation, **kwargs):
        return CheckSpec(name, relation, expectation, kwargs, column=kwargs.get("column"), declared=True)

    return [
        spec("a_not_null_mostly", "ExpectColumnValuesToNotBeNull", column="a", mostly=0.2),
        spec("b_not_null_mostly", "ExpectColumnValuesToNotBeNull", column="b", mostly=0.9),
        spec("a_null", "ExpectColumnValuesToBeNull", column="a"),
        spec("a_null_mostly", "ExpectColumnValuesToBeNull", column="a", mostly=0.7),
        spec("c_in_set", "ExpectColumnValuesToBeInSet", column="c", value_set=["x", "y", "z"]),
        spec("c_in_set_mostly", "ExpectColumnValuesToBeInSet", column="c", value_set=["x", "y", "z"], mostly=0.5),
        spec("c_in_set_strict", "ExpectColumnValuesToBeInSet", column="c", value_set=["x", "y", "z"], mostly=0.7),
        spec("c_not_in_set", "ExpectColumnValuesToNotBeInSet", column="c", value_set=["w"]),
        spec("d_in_numbers", "ExpectColumnValuesToBeInSet", column="d", value_set=[1, 2, 3]),
        spec("b_unique", "ExpectColumnValuesToBeUnique", column="b"),
        spec("cd_unique", "ExpectCompoundColumnsToBeUnique", column_list=["c", "d"]),
    ]


@pytest.mark.parametrize("relation", ["t", "clean"])
def test_declared_checks_with_a_compiled_form_equal_great_expectations(engine, relation):
    from clg_metrics.checks.gx import run_checks

    specs = declared_checks(relation)
    if relation == "clean":  # its columns are numbers: the sets must be too
        specs = [s for s in specs if s.kwargs.get("column") != "c"]
    assert all(supports(c) for c in specs)
    physical = lambda name: f"main.{name}"  # noqa: E731
    fast = {r.check.name: (r.status, r.unexpected_count) for r in run_fast_checks(engine, specs, physical)}
    gx = {r.check.name: (r.status, r.unexpected_count) for r in run_checks(engine, specs, physical)}
    assert fast == gx
    if relation == "t":  # by hand: a has 7 NULLs of 10; c has 1 NULL and w, w, v outside {x, y, z}; d has 4, 5, 6, 7 outside {1, 2, 3}
        assert fast == {"a_not_null_mostly": ("pass", 7), "b_not_null_mostly": ("fail", 2),
                        "a_null": ("fail", 3), "a_null_mostly": ("pass", 3),
                        "c_in_set": ("fail", 3), "c_in_set_mostly": ("pass", 3), "c_in_set_strict": ("fail", 3),
                        "c_not_in_set": ("fail", 2), "d_in_numbers": ("fail", 4),
                        "b_unique": ("fail", 5), "cd_unique": ("fail", 4)}


def test_declared_checks_without_a_compiled_form_go_to_great_expectations():
    between = CheckSpec("x", "t", "ExpectColumnValuesToBeBetween", {"column": "a", "min_value": 1}, declared=True)
    unique_mostly = CheckSpec("y", "t", "ExpectColumnValuesToBeUnique", {"column": "a", "mostly": 0.5}, declared=True)
    assert not supports(between) and not supports(unique_mostly)
    assert supports(CheckSpec("z", "t", "ExpectColumnValuesToNotBeNull", {"column": "a"}, declared=True))


def test_a_missing_column_is_an_error_not_a_failure(engine):
    spec = CheckSpec("nope", "t", "ExpectColumnValuesToNotBeNull", {"column": "nope"}, column="nope")
    [result] = run_fast_checks(engine, [spec], lambda name: f"main.{name}")
    assert result.status == "error" and "nope" in result.sample
