"""DuckDB column types in PostgreSQL terms, for loading a DuckDB relation with COPY."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

_T = exp.DataType.Type
_WIDENED = {
    _T.UTINYINT: "SMALLINT", _T.USMALLINT: "INTEGER", _T.UINT: "BIGINT",
    _T.UBIGINT: "NUMERIC(20, 0)", _T.INT128: "NUMERIC(39, 0)", _T.UINT128: "NUMERIC(39, 0)",
    _T.TIMESTAMP_S: "TIMESTAMP", _T.TIMESTAMP_MS: "TIMESTAMP", _T.TIMESTAMP_NS: "TIMESTAMP",
    _T.TIMESTAMPNTZ: "TIMESTAMP", _T.NULL: "TEXT", _T.UNKNOWN: "TEXT",
}
if hasattr(_T, "BIGNUM"):  # DuckDB's arbitrary-precision integer (VARINT before 1.4)
    _WIDENED[_T.BIGNUM] = "NUMERIC"
# Same type on both sides, and psycopg writes the Python value DuckDB gives in a form PostgreSQL reads.
_KEPT = {
    _T.BOOLEAN, _T.SMALLINT, _T.INT, _T.BIGINT, _T.FLOAT, _T.DOUBLE, _T.DECIMAL,
    _T.VARCHAR, _T.TEXT, _T.CHAR, _T.DATE, _T.TIME, _T.TIMESTAMP,
    _T.UUID, _T.VARBINARY, _T.BLOB, _T.BINARY, _T.JSON,
}
# Read as DuckDB's text of the value, which PostgreSQL parses: (PostgreSQL type, DuckDB cast).
# Time zone aware values: DuckDB needs pytz to make Python objects of them, and its text keeps the
# offset. INTERVAL: the Python timedelta would turn a month into 30 days.
_AS_TEXT = {
    _T.TIMESTAMPTZ: ("TIMESTAMPTZ", "VARCHAR"), _T.TIMETZ: ("TIMETZ", "VARCHAR"),
    _T.INTERVAL: ("INTERVAL", "VARCHAR"), _T.BIT: ("VARBIT", "VARCHAR"), _T.ENUM: ("TEXT", "VARCHAR"),
}
_NESTED = {_T.STRUCT, _T.MAP, _T.UNION, _T.OBJECT}
_LISTS = {_T.ARRAY, _T.LIST}


def postgres_type(duckdb_type: str) -> tuple[exp.DataType, str | None]:
    """The PostgreSQL column type for a DuckDB type, and the DuckDB type to cast values to before
    they are read (None: read them as they are). Anything unknown travels as text."""
    try:
        data_type = exp.DataType.build(duckdb_type, dialect="duckdb")
    except (ParseError, TokenError, ValueError):
        return exp.DataType.build("TEXT"), "VARCHAR"
    return _convert(data_type)


def _convert(data_type: exp.DataType) -> tuple[exp.DataType, str | None]:
    kind = data_type.this
    if kind == _T.TINYINT:  # PostgreSQL has no 1-byte integer
        return exp.DataType.build("SMALLINT"), None
    if kind in _KEPT:
        return data_type, None
    if kind in _WIDENED:
        return exp.DataType.build(_WIDENED[kind], dialect="postgres"), None
    if kind in _AS_TEXT:
        pg_type, cast = _AS_TEXT[kind]
        return exp.DataType.build(pg_type, dialect="postgres", udt=True), cast
    if kind in _LISTS and len(data_type.expressions) == 1:  # DuckDB's fixed size, INTEGER[3], is dropped
        element, cast = _convert(data_type.expressions[0])
        if cast is None and element.this not in _LISTS and element.this not in _NESTED | {_T.JSON}:
            return exp.DataType(this=_T.ARRAY, expressions=[element], nested=True), None
    if kind in _NESTED or kind in _LISTS:
        return exp.DataType.build("JSON"), "JSON"
    return exp.DataType.build("TEXT"), "VARCHAR"


def rows_of(relation, size: int):
    """The relation's rows, a batch at a time over one run (DuckDB 2 has ``iter_rows``; 1.x
    relations keep their result and page it with ``fetchmany``)."""
    if getattr(type(relation), "iter_rows", None) is not None:
        yield from relation.iter_rows(size)
        return
    while batch := relation.fetchmany(size):  # pragma: no cover - DuckDB 1.x
        yield from batch
