"""User SQL models in ``sql/``: one SELECT per file, parsed by sqlglot to find what they read.

The table a model reads decides its place in the DAG (seeds, other models, warehouse tables),
and the columns it returns let the compiler tell an events column from a JSON property in a
``where`` filter without a database. ``var('name')`` calls are replaced by the project variable
as a sqlglot literal, so variables never reach SQL by string formatting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError

from .errors import Problem
from .filters import literal


@dataclass(frozen=True)
class SqlSource:
    """One parsed ``sql/NAME.sql`` model."""

    name: str
    path: Path
    query: exp.Query
    reads: tuple[str, ...]  # every table it reads, as written (lower-cased), CTE names excluded


def parse_sql_model(path: Path, text: str, dialect: str, variables: dict[str, Any]) -> SqlSource:
    """Parse one model file; raise a located ``Problem`` list (as ValueError args) when invalid."""
    if "{{" in text or "{%" in text:
        line = text[: text.find("{")].count("\n") + 1
        raise _problem(path, line, "Jinja templates are not supported in sql/ models",
                       "use `var('name')` for project variables")
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect, error_level=ErrorLevel.RAISE) if s is not None]
    except ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        raise _problem(path, err.get("line"), f"SQL does not parse: {err.get('description', exc)}",
                       "fix the SQL here", err.get("col")) from None
    except TokenError as exc:
        raise _problem(path, None, f"SQL does not parse: {exc}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise _problem(path, 1, "a sql/ model holds exactly one SELECT statement",
                       "remove other statements; the table is created for you")
    query = statements[0]
    query = _substitute_vars(path, query, variables)
    cte_names = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    reads = []
    for table in query.find_all(exp.Table):
        if not table.name:
            continue
        name = ".".join(p for p in (table.catalog, table.db, table.name) if p).lower()
        if name not in cte_names and name not in reads:
            reads.append(name)
    return SqlSource(name=path.stem, path=path, query=query, reads=tuple(reads))


def _substitute_vars(path: Path, query: exp.Query, variables: dict[str, Any]) -> exp.Query:
    def replace(node):
        if isinstance(node, exp.Anonymous) and str(node.this).lower() == "var":
            args = node.expressions
            if not args or not isinstance(args[0], exp.Literal) or not args[0].is_string:
                raise _problem(path, None, "var() takes the variable's name as a string literal")
            name = args[0].this
            if name in variables:
                return literal(variables[name])
            if len(args) > 1:
                return args[1].copy()
            raise _problem(path, None, f"unknown project variable `{name}` in var()",
                           "define it under `vars:` in clg_project.yml or pass --vars")
        return node

    return query.transform(replace, copy=True)


def output_columns(query: exp.Query, schemas: dict[str, list[str] | None]) -> list[str] | None:
    """The column names a model returns, expanding ``*`` from known upstream columns; None if unknown."""
    columns: list[str] = []
    select = query if isinstance(query, exp.Select) else None
    if select is None:  # a UNION etc.: the first branch names the columns
        select = query.find(exp.Select)
        if select is None:
            return None
    for projection in select.expressions:
        if isinstance(projection, exp.Star) or (isinstance(projection, exp.Column) and projection.is_star):
            sources = [t for t in select.find_all(exp.Table) if t.find_ancestor(exp.Select) is select]
            qualifier = projection.table if isinstance(projection, exp.Column) else ""
            if qualifier:
                sources = [t for t in sources if t.alias_or_name == qualifier]
            if len(sources) != 1 or select.args.get("joins") and not qualifier:
                return None
            upstream = schemas.get(".".join(p for p in (sources[0].db, sources[0].name) if p).lower())
            if upstream is None:
                return None
            if projection.args.get("except"):
                excluded = {c.name for c in projection.args["except"]}
                upstream = [c for c in upstream if c not in excluded]
            columns.extend(upstream)
        else:
            name = projection.alias_or_name
            if not name:
                return None
            columns.append(name)
    return columns


def _problem(path, line, message, hint=None, column=None) -> ValueError:
    return ValueError(Problem(path, line, column, message, hint))
