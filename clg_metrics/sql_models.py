"""User SQL models in ``sql/``: one SELECT per file, parsed by sqlglot to find what they read.

The table a model reads decides its place in the DAG (seeds, other models, warehouse tables),
and the columns it returns let the compiler tell an events column from a JSON property in a
``where`` filter without a database. ``var('name')`` calls are replaced by the project variable
as a sqlglot literal, so variables never reach SQL by string formatting.

A model is a query and nothing else: its tree may hold only the nodes a read-only query is made
of (an allow-list, ``QUERY_NODES``, plus every expression and function sqlglot models), so a
DELETE, UPDATE, INSERT or MERGE inside a CTE, ``SELECT ... INTO``, ``FOR UPDATE``, DDL, COPY,
ATTACH, PRAGMA, SET and anything sqlglot only keeps as a raw ``Command`` are refused before any
SQL runs. So are functions that read or write files, reach other databases or have side effects
(``REFUSED_FUNCTIONS``), table functions other than the row generators in ``TABLE_FUNCTIONS``,
and table names that DuckDB would read as a file or URL (``FROM 'events.csv'``).
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager
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
        with _quiet_sqlglot():  # its "falling back to a Command" warning: we report the statement ourselves
            statements = [s for s in sqlglot.parse(text, read=dialect, error_level=ErrorLevel.RAISE) if s is not None]
    except ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        raise _problem(path, err.get("line"), f"SQL does not parse: {err.get('description', exc)}",
                       "fix the SQL here", err.get("col")) from None
    except TokenError as exc:
        raise _problem(path, None, f"SQL does not parse: {exc}") from None
    lines = _statement_lines(text, dialect, len(statements))
    for statement, line in zip(statements, lines):
        if not isinstance(statement, exp.Query):
            raise _problem(path, line or _first_line(statement) or 1,
                           f"a sql/ model is one SELECT, and this file holds {_a(statement_name(statement))} "
                           "statement", "remove it: clg-metrics creates and replaces the model's table itself, "
                           "and a model never changes data or settings")
    if len(statements) != 1:
        line = lines[1] if len(statements) > 1 else 1
        raise _problem(path, line or 1, "a sql/ model holds exactly one SELECT statement",
                       "remove other statements; the table is created for you")
    query = statements[0]
    refusal = _refused_node(query)
    if refusal is not None:
        node, message, hint = refusal
        raise _problem(path, _first_line(node) or 1, message, hint)
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


# What a query's tree may hold besides expressions (exp.Condition: columns, literals, operators,
# CASE, CAST, windows and every function sqlglot models). Anything else is refused: statements
# (DML, DDL, COPY, ATTACH, PRAGMA, SET, USE, ...), exp.Command, SELECT ... INTO, FOR UPDATE, ...
QUERY_NODES: tuple[type, ...] = tuple(getattr(exp, name) for name in (
    "Select", "Union", "Intersect", "Except", "Subquery", "With", "CTE", "RecursiveWithSearch", "From", "Join",
    "Where", "Group", "Having", "Qualify", "Order", "Ordered", "Limit", "Offset", "Fetch", "Distinct", "Star",
    "Table", "TableAlias", "Alias", "Aliases", "Identifier", "DataType", "DataTypeParam", "ColumnDef", "Var",
    "Values", "Tuple", "Lateral", "Interval", "IntervalSpan", "Slice", "Lambda", "WindowSpec", "Filter",
    "WithinGroup", "IgnoreNulls", "RespectNulls", "HavingMax", "Cube", "Rollup", "GroupingSets", "Pivot",
    "PivotAlias", "PivotAny", "UnpivotColumns", "TableSample", "AtTimeZone", "FromTimeZone", "JSONPath",
    "JSONPathKey", "JSONPathRoot", "JSONPathSubscript", "JSONPathSlice", "JSONPathWildcard", "JSONPathUnion",
    "JSONPathSelector", "JSONPathFilter", "JSONPathRecursive", "JSONPathScript", "JSONKeyValue", "FormatJson",
    "Prior", "Connect", "MatchRecognize", "MatchRecognizeMeasure", "Hint", "JoinHint", "WithTableHint",
    "IndexTableHint", "HistoricalData", "Version", "Comprehension", "Introducer", "National", "PseudoType",
    "ScopeResolution", "Sort", "Cluster", "Distribute", "Heredoc", "Partition", "Schema", "LimitOptions",
    "Nearest", "OnCondition", "Changes", "PositionalColumn", "ObjectIdentifier",
) if hasattr(exp, name))

# Nodes that exp.Condition covers but a model may not hold, with what the user is told.
_REFUSED_EXPRESSIONS: tuple[tuple[type, str, str], ...] = (
    (exp.Placeholder, "a query parameter (`?`, `$1`, `:name`) has no value in a build",
     "use `var('name')` for a project variable"),
    (exp.Parameter, "a query parameter has no value in a build", "use `var('name')` for a project variable"),
)

# Functions that read or write files, reach other databases or servers, run code or change state
# (DuckDB, PostgreSQL, Spark): a model reads tables of the warehouse, nothing else.
REFUSED_FUNCTIONS = frozenset({
    # DuckDB: files, URLs, other databases, arbitrary SQL text
    "read_csv", "read_csv_auto", "read_parquet", "parquet_scan", "read_json", "read_json_auto",
    "read_json_objects", "read_json_objects_auto", "read_ndjson", "read_ndjson_auto", "read_ndjson_objects",
    "read_text", "read_blob", "read_xlsx", "read_xml", "glob", "sniff_csv", "parquet_metadata",
    "parquet_schema", "parquet_file_metadata", "parquet_kv_metadata", "iceberg_scan", "delta_scan",
    "sqlite_scan", "sqlite_attach", "postgres_scan", "postgres_attach", "postgres_query", "postgres_execute",
    "mysql_query", "mysql_execute", "query", "query_table", "getenv", "load_aws_credentials", "st_read",
    "duckdb_secrets", "which_secret", "checkpoint", "force_checkpoint", "nextval", "setval", "setseed",
    # PostgreSQL: server files, large objects, other databases, settings, other sessions, locks
    "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "pg_ls_logdir", "pg_ls_waldir",
    "pg_ls_tmpdir", "pg_ls_archive_statusdir", "lo_import", "lo_export", "lo_unlink", "lo_create", "lo_from_bytea",
    "lo_put", "lo_truncate", "dblink", "dblink_exec", "dblink_connect", "dblink_connect_u", "dblink_send_query",
    "dblink_open", "set_config", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
    "pg_switch_wal", "pg_create_restore_point", "pg_promote", "pg_sleep", "pg_sleep_for", "pg_sleep_until",
    "pg_notify", "pg_advisory_lock", "pg_advisory_xact_lock", "pg_try_advisory_lock", "pg_try_advisory_xact_lock",
    "pg_advisory_lock_shared", "pg_advisory_xact_lock_shared", "pg_file_write", "pg_logical_emit_message",
    "query_to_xml", "query_to_xml_and_xmlschema", "table_to_xml", "cursor_to_xml", "currval",
    # Spark: calls into the JVM by reflection
    "reflect", "java_method", "try_reflect",
})
_REFUSED_FUNCTION_CLASSES = tuple(getattr(exp, name) for name in ("ReadCSV", "ReadParquet", "ReadJSON", "ToFile",
                                                                   "NextValueFor") if hasattr(exp, name))

# Table functions (FROM f(...)) a model may use: row generators and JSON/array expanders.
TABLE_FUNCTIONS = frozenset({
    "generate_series", "exploding_generate_series", "range", "unnest", "explode", "explode_outer", "posexplode", "posexplode_outer", "inline",
    "inline_outer", "stack", "json_each", "json_each_text", "jsonb_each", "jsonb_each_text", "json_tree",
    "json_array_elements", "json_array_elements_text", "jsonb_array_elements", "jsonb_array_elements_text",
    "json_to_recordset", "jsonb_to_recordset", "json_to_record", "jsonb_to_record", "json_populate_recordset",
    "jsonb_populate_recordset", "regexp_split_to_table", "string_to_table",
})
_FILE_LIKE_NAME = re.compile(r"[./\\:*?]")


def statement_name(node: exp.Expr) -> str:
    """What a statement is called in SQL, e.g. ``DELETE``, ``CREATE TABLE``, ``PRAGMA``."""
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    words = {"TruncateTable": "TRUNCATE", "LoadData": "LOAD DATA", "Transaction": "BEGIN"}
    name = words.get(type(node).__name__) or re.sub(r"(?<!^)(?=[A-Z])", " ", type(node).__name__).upper()
    kind = node.args.get("kind") if isinstance(node, (exp.Create, exp.Drop)) else None
    return f"{name} {str(kind).upper()}" if isinstance(kind, str) and kind else name


def _a(word: str) -> str:
    return ("an " if word[:1] in "AEIOU" else "a ") + word


def _function_name(node: exp.Expr) -> str:
    if isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)):
        return str(node.this).lower()
    return node.sql_name().lower() if isinstance(node, exp.Func) else type(node).__name__.lower()


def _refused_node(query: exp.Expr) -> tuple[exp.Expr, str, str] | None:
    """The first node of ``query`` a read-only model may not hold: (node, what is wrong, what to change)."""
    for node in query.walk():
        if isinstance(node, _REFUSED_FUNCTION_CLASSES) or (
                isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)) and _function_name(node) in REFUSED_FUNCTIONS):
            return (node, f"`{_function_name(node)}(...)` reads or changes something outside the warehouse's tables "
                    "(files, other databases, settings or sequences)",
                    "read a seed (seeds/*.csv) or a warehouse table by name instead")
        for kind, message, hint in _REFUSED_EXPRESSIONS:
            if isinstance(node, kind):
                return node, message, hint
        if isinstance(node, exp.Condition):
            continue
        if not isinstance(node, QUERY_NODES):
            return _not_a_query_part(node)
        if isinstance(node, exp.Table):
            function = node.this
            if isinstance(function, exp.Func) and _function_name(function) not in TABLE_FUNCTIONS:
                return (node, f"table function `{_function_name(function)}(...)`: a sql/ model reads tables, seeds "
                        "and other models by name", "use a seed (seeds/*.csv) for data from a file; row generators "
                        "such as generate_series and unnest are allowed")
            parts = [p for p in node.parts if isinstance(p, exp.Identifier)]
            if any(_FILE_LIKE_NAME.search(p.name) for p in parts):
                return (node, f"table name `{'.'.join(p.name for p in parts)}` looks like a file or URL, which "
                        "DuckDB would read", "put the file in seeds/ and read the seed by its name")
    return None


def _not_a_query_part(node: exp.Expr) -> tuple[exp.Expr, str, str]:
    if isinstance(node, exp.Into):
        return node, "`SELECT ... INTO` creates a table", "remove INTO: the model's table is created for you"
    if isinstance(node, exp.Lock):
        return node, "`FOR UPDATE`/`FOR SHARE` locks rows", "remove the locking clause: a model only reads"
    if isinstance(node, exp.Returning):
        return node, "`RETURNING` belongs to a statement that changes data", "a sql/ model only reads"
    if isinstance(node, (exp.DML, exp.DDL, exp.Command)) or node.parent is None or isinstance(
            node.parent, (exp.CTE, exp.Subquery)):
        return (node, f"{_a(statement_name(node))} statement inside the query: a sql/ model is one SELECT and "
                "never changes data, tables or settings", "remove it; select from the tables instead")
    return (node, f"`{node.sql(comments=False)[:60]}` ({type(node).__name__}) is not part of a read-only query",
            "a sql/ model is one SELECT over tables; write it without this construct")


def _first_line(node: exp.Expr) -> int | None:
    """The earliest line sqlglot recorded for a token under ``node`` (identifiers, literals, ...)."""
    lines = [n._meta["line"] for n in node.walk() if n._meta and isinstance(n._meta.get("line"), int)]
    return min(lines) if lines else None


@contextmanager
def _quiet_sqlglot():
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _statement_lines(text: str, dialect: str, count: int) -> list[int | None]:
    """The line each non-empty statement of ``text`` starts on (None each when they cannot be told)."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.tokens import TokenType

    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(text)
    except Exception:  # the parse succeeded, so this does not happen; positions are a courtesy
        return [None] * count
    starts: list[int] = []
    fresh = True
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            fresh = True
        elif fresh:
            starts.append(token.line)
            fresh = False
    return list(starts) if len(starts) == count else [None] * count


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
