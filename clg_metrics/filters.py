"""``where:`` filters: the mapping form and the SQL-string form, checked and turned into sqlglot.

A filter is user input that ends up inside SQL, so it never reaches SQL as text: mapping values
become literals built by sqlglot, and a SQL string is parsed by sqlglot and accepted only if it is
one expression made of columns, literals, operators and plain scalar functions that sqlglot
knows (no subquery, statement, aggregate, window or unknown function). The accepted tree is then
re-rendered by sqlglot for the target dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

OPERATORS = {"in", "eq", "ne", "gt", "gte", "lt", "lte"}
SCALAR_TYPES = (str, int, float, bool, type(None))
MAX_SQL_LENGTH = 10_000

# Nodes a filter string may never contain, with the reason the user is told.
_FORBIDDEN: tuple[tuple[type, str], ...] = (
    (exp.Query, "a subquery or statement"),
    (exp.Subquery, "a subquery"),
    (exp.AggFunc, "an aggregate function"),
    (exp.Window, "a window function"),
    (exp.UDTF, "a table function"),
    (exp.Star, "`*`"),
    (exp.Placeholder, "a placeholder"),
    (exp.Parameter, "a parameter"),
    (exp.Anonymous, "a function sqlglot does not know"),
    (exp.Command, "a command"),
    (exp.Table, "a table"),
    (exp.Lambda, "a lambda"),
) + tuple((getattr(exp, name), "a table function") for name in ("ReadCSV", "ReadParquet", "ReadJSON")
          if hasattr(exp, name))


def validate_filter(value: Any) -> None:
    """Raise ValueError (with what to change) unless ``value`` is a well-formed filter."""
    if isinstance(value, str):
        parse_sql_filter(value)
        return
    if not isinstance(value, dict) or not value:
        raise ValueError("`where` is a mapping {column: value} or a string holding one SQL expression")
    for key, condition in value.items():
        if not isinstance(key, str) or not key:
            raise ValueError("`where` keys are column or property names")
        if isinstance(condition, dict):
            if not condition:
                raise ValueError(f"`where: {{{key}: {{}}}}` is empty: give an operator such as `in` or `gte`")
            for op, operand in condition.items():
                if op not in OPERATORS:
                    from .errors import did_you_mean

                    hint = did_you_mean(str(op), OPERATORS) or "operators: " + ", ".join(sorted(OPERATORS))
                    raise ValueError(f"unknown operator `{op}` in `where` for `{key}`: {hint}")
                if op == "in":
                    if not isinstance(operand, list) or not operand or not all(
                        isinstance(v, SCALAR_TYPES) for v in operand
                    ):
                        raise ValueError(f"`in` for `{key}` takes a non-empty list of plain values")
                elif not isinstance(operand, SCALAR_TYPES) or operand is None:
                    raise ValueError(f"`{op}` for `{key}` takes one plain value")
        elif not isinstance(condition, SCALAR_TYPES):
            raise ValueError(f"`where` value for `{key}` must be a plain value or {{operator: value}}")


def parse_sql_filter(text: str, dialect: str = "duckdb") -> exp.Expr:
    """Parse a SQL filter string into one checked expression, or raise ValueError."""
    if len(text) > MAX_SQL_LENGTH:
        raise ValueError(f"the `where` string is longer than {MAX_SQL_LENGTH} characters")
    try:
        parsed = [e for e in sqlglot.parse(text, read=dialect) if e is not None]
    except (ParseError, TokenError) as exc:
        first = str(exc).splitlines()[0]
        raise ValueError(f"`where` is not a valid SQL expression: {first}") from None
    except RecursionError:
        raise ValueError("`where` is nested too deeply") from None
    if len(parsed) != 1:
        raise ValueError("`where` must hold exactly one SQL expression (no `;`)")
    tree = parsed[0]
    for node in tree.walk():
        for kind, what in _FORBIDDEN:
            if isinstance(node, kind):
                name = node.sql(dialect)[:60]
                raise ValueError(
                    f"`where` may not contain {what} (`{name}`): use columns, literals, operators "
                    "and plain scalar functions"
                )
        if isinstance(node, exp.Column) and node.table:
            raise ValueError(f"refer to columns without a table name in `where` (`{node.sql(dialect)}`)")
        if isinstance(node, (exp.Alias, exp.DDL, exp.DML)):
            raise ValueError("`where` must be a boolean expression")
    _require_predicate(tree, dialect)
    return tree


# Top-level shapes that are values, not conditions: the engine would refuse them at build time
# ("WHERE event" is not a boolean) with no line, so they are refused here with the fix.
_VALUES = (exp.Column, exp.Literal, exp.Null, exp.Neg, exp.JSONExtract, exp.JSONExtractScalar, exp.Dot,
           exp.Bracket, exp.Array, exp.Tuple, exp.Interval)


def _require_predicate(tree: exp.Expr, dialect: str) -> None:
    """Raise ValueError unless ``tree`` is a condition: a comparison, IN/IS/LIKE/BETWEEN, a boolean
    function, or AND/OR/NOT of those. Types come from sqlglot's annotator; an unknown type passes."""
    from sqlglot.optimizer.annotate_types import annotate_types

    try:
        typed = annotate_types(tree.copy(), dialect=dialect)
    except Exception:  # the annotator is a help, not a gate
        typed = tree.copy()
    stack = [typed]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Paren):
            stack.append(node.this)
            continue
        if isinstance(node, (exp.Connector, exp.Not)):
            stack.extend(node.iter_expressions())
            continue
        arithmetic = isinstance(node, exp.Binary) and not isinstance(node, exp.Predicate)
        kind = node.type.this if node.type is not None else exp.DataType.Type.UNKNOWN
        known_not_boolean = kind not in (exp.DataType.Type.UNKNOWN, exp.DataType.Type.BOOLEAN,
                                         exp.DataType.Type.NULL)
        if isinstance(node, _VALUES) or arithmetic or known_not_boolean:
            text = node.sql(dialect)[:60]
            fix = (f"`{text} = 'value'`, or `{text} = true` for a boolean column" if isinstance(node, exp.Column)
                   else f"`{text} = 'value'` or `{text} > 0`")
            raise ValueError(f"`where` must be a condition, and `{text}` is a value, not true or false, so it "
                             f"is not a condition: compare it, e.g. {fix}")


def literal(value: Any) -> exp.Expr:
    """A Python scalar as a sqlglot literal (the only way values reach SQL)."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, (int, float)):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def build_mapping_filter(mapping: dict[str, Any], resolve: Callable[[str, Any], exp.Expr]) -> exp.Expr:
    """``{key: value | {op: value}}`` as one boolean sqlglot expression (keys ANDed).

    ``resolve(key, sample_value)`` gives the expression a key stands for: an events column, or a
    key of the JSON ``properties`` column (cast to a number when compared with a number).
    """
    parts: list[exp.Expr] = []
    for key, condition in mapping.items():
        ops = condition if isinstance(condition, dict) else {"eq": condition}
        for op, operand in ops.items():
            sample = operand[0] if op == "in" else operand
            target = resolve(key, sample)
            if op == "in":
                values = [v for v in operand if v is not None]
                part: exp.Expr = exp.In(this=target, expressions=[literal(v) for v in values]) if values else exp.false()
                if len(values) < len(operand):  # `in: [a, null]` also keeps rows where the value is missing
                    part = exp.or_(part, exp.Is(this=target.copy(), expression=exp.null()))
            elif operand is None:
                part = exp.Is(this=target, expression=exp.null())
            else:
                node = {"eq": exp.EQ, "ne": exp.NEQ, "gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}[op]
                part = node(this=target, expression=literal(operand))
            parts.append(part)
    return exp.and_(*parts) if len(parts) > 1 else parts[0]
