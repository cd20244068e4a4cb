"""The expectations a user may declare under ``checks:``, in great-expectations' own vocabulary.

Validating a project must not import great-expectations (4–6 s), so the names and arguments of
the supported expectations are listed here; ``tests/test_checks_gx.py`` checks this list against
GX itself, so it cannot drift from GX's real signatures. GX's ``row_condition`` and
``condition_parser`` are left out on purpose: they are expressions in GX's own mini-language,
which we would have to pass on unchecked.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import did_you_mean, one_of

_COLUMN = ("column",)
_BETWEEN = ("min_value", "max_value", "strict_min", "strict_max")

# snake name (without "expect_") -> (GX class, required arguments, optional arguments)
EXPECTATIONS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "column_to_exist": ("ExpectColumnToExist", _COLUMN, ()),
    "column_values_to_not_be_null": ("ExpectColumnValuesToNotBeNull", _COLUMN, ("mostly",)),
    "column_values_to_be_null": ("ExpectColumnValuesToBeNull", _COLUMN, ("mostly",)),
    "column_values_to_be_unique": ("ExpectColumnValuesToBeUnique", _COLUMN, ("mostly",)),
    "column_values_to_be_in_set": ("ExpectColumnValuesToBeInSet", _COLUMN + ("value_set",), ("mostly",)),
    "column_values_to_not_be_in_set": ("ExpectColumnValuesToNotBeInSet", _COLUMN + ("value_set",), ("mostly",)),
    "column_values_to_be_between": ("ExpectColumnValuesToBeBetween", _COLUMN, _BETWEEN + ("mostly",)),
    "column_value_lengths_to_be_between": ("ExpectColumnValueLengthsToBeBetween", _COLUMN, _BETWEEN + ("mostly",)),
    "column_distinct_values_to_be_in_set": ("ExpectColumnDistinctValuesToBeInSet", _COLUMN + ("value_set",), ()),
    "column_distinct_values_to_contain_set": ("ExpectColumnDistinctValuesToContainSet", _COLUMN + ("value_set",), ()),
    "column_min_to_be_between": ("ExpectColumnMinToBeBetween", _COLUMN, _BETWEEN),
    "column_max_to_be_between": ("ExpectColumnMaxToBeBetween", _COLUMN, _BETWEEN),
    "column_mean_to_be_between": ("ExpectColumnMeanToBeBetween", _COLUMN, _BETWEEN),
    "column_unique_value_count_to_be_between": ("ExpectColumnUniqueValueCountToBeBetween", _COLUMN, _BETWEEN),
    "table_row_count_to_be_between": ("ExpectTableRowCountToBeBetween", (), _BETWEEN),
    "table_row_count_to_equal": ("ExpectTableRowCountToEqual", ("value",), ()),
    "table_columns_to_match_set": ("ExpectTableColumnsToMatchSet", ("column_set",), ("exact_match",)),
    "compound_columns_to_be_unique": ("ExpectCompoundColumnsToBeUnique", ("column_list",), ("mostly", "ignore_row_if")),
    "column_pair_values_to_be_equal": ("ExpectColumnPairValuesToBeEqual", ("column_A", "column_B"),
                                       ("mostly", "ignore_row_if")),
    "column_pair_values_a_to_be_greater_than_b": ("ExpectColumnPairValuesAToBeGreaterThanB", ("column_A", "column_B"),
                                                  ("or_equal", "mostly", "ignore_row_if")),
}

_SCALAR = (str, int, float, bool)


def _check_value(name: str, value: Any) -> None:
    """Argument values are plain data: names, numbers, lists of them (never code)."""
    if name in ("value_set", "column_set", "column_list"):
        if not isinstance(value, list) or not all(isinstance(v, _SCALAR) or v is None for v in value):
            raise ValueError(f"`{name}` takes a list of plain values")
    elif name in ("column", "column_A", "column_B", "ignore_row_if"):
        if not isinstance(value, str) or not value:
            raise ValueError(f"`{name}` takes a name")
    elif name == "mostly":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError("`mostly` takes a fraction between 0 and 1")
    elif name in ("strict_min", "strict_max", "exact_match", "or_equal"):
        if not isinstance(value, bool):
            raise ValueError(f"`{name}` takes true or false")
    elif not isinstance(value, _SCALAR) and value is not None:
        raise ValueError(f"`{name}` takes a plain value")


def expectation_name(expect: str) -> str:
    return expect.removeprefix("expect_")


class CheckDecl(BaseModel):
    """One declared check: ``{expect: NAME, ARGUMENT: VALUE..., severity: warn|error, name: ...}``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    expect: str
    severity: Literal["warn", "error"] = "error"
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,120}$")

    @model_validator(mode="after")
    def _known(self) -> CheckDecl:
        key = expectation_name(self.expect)
        if key not in EXPECTATIONS:
            hint = did_you_mean(key, EXPECTATIONS) or one_of(EXPECTATIONS)
            raise ValueError(f"unknown expectation `{self.expect}`: {hint}")
        _, required, optional = EXPECTATIONS[key]
        given = dict(self.model_extra or {})
        for arg in given:
            if arg not in required + optional:
                allowed = required + optional
                hint = did_you_mean(arg, allowed) or (one_of(allowed) if allowed else "it takes no arguments")
                raise ValueError(f"`{self.expect}` has no argument `{arg}` ({hint})")
        missing = [a for a in required if a not in given]
        if missing:
            raise ValueError(f"`{self.expect}` needs " + ", ".join(f"`{a}`" for a in missing))
        for arg, value in given.items():
            _check_value(arg, value)
        return self

    @property
    def arguments(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @property
    def gx_class(self) -> str:
        return EXPECTATIONS[expectation_name(self.expect)][0]
