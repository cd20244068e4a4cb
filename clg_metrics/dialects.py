"""The edge where dialect-free sqlglot trees become one engine's SQL.

The compiler builds its trees in DuckDB's vocabulary (the embedded default, and the engine the
benchmark tunes for). sqlglot transpiles most of that to any dialect; this module rewrites the
few constructs whose literal translation would be wrong or invalid elsewhere, so the same
journey gives the same rows on DuckDB, PostgreSQL and Spark:

- the n-th smallest value of a group: DuckDB's bounded ``min(x, n)[n]``; elsewhere the n-th
  element of the sorted array of values (``ARRAY_AGG(x ORDER BY x)``, Spark
  ``ARRAY_SORT(COLLECT_LIST(x))``), NULL when the group has fewer than n values;
- microseconds since the epoch: ``EPOCH_US`` / ``UNIX_MICROS``, elsewhere a microsecond date
  difference from 1970-01-01 (exact: PostgreSQL's ``EXTRACT(EPOCH ...)`` is numeric);
- ``NOT MATERIALIZED`` CTE hints, which only DuckDB and PostgreSQL accept;
- JSON properties stored as text: PostgreSQL's JSON functions need a ``json`` value;
- the whole-row hash of the incremental fingerprint (``RowHash``, which only dialects with a
  transform for it can write);
- the bucket of a customer id among K (``CustomerBucket``, for a progress model built in K passes
  by customer): DuckDB's ``hash``, PostgreSQL's ``hashtextextended``, Spark's ``xxhash64``;
- a group's smallest values as a sorted list (the leaf state of a journey): DuckDB's bounded
  ``min(x, n)``, elsewhere the whole sorted array (as for the n-th smallest); and the merge of a
  stored list with new values (``MergeSmallest``, incremental builds), which only DuckDB and
  Spark write (``merges_leaf_state``);
- text ordered by its bytes (``ByteOrder``, for ties broken "by theme ascending"): DuckDB and
  Spark compare strings by bytes already, PostgreSQL by the database's collation unless told
  ``COLLATE "C"``.

Each difference is one small named transform; ``TRANSFORMS`` lists, per dialect, the transforms
that apply (like sqlglot's ``transforms.preprocess([...])``), and ``lower`` runs them.

Anything sqlglot itself reports as unsupported for the dialect becomes a ``CompileError`` naming
the construct (never silently wrong SQL).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import ErrorLevel, exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import UnsupportedError

from .errors import CompileError

# Engines the test suite runs every semantic test on; the rest of sqlglot's dialects are compile-only.
TESTED_DIALECTS = ("duckdb", "postgres", "spark")
_SPARK_LIKE = ("spark", "spark2", "databricks", "hive")
EPOCH = exp.cast(exp.Literal.string("1970-01-01 00:00:00"), exp.DataType.Type.TIMESTAMP)


class RowHash(exp.Expression, exp.Func):
    """A 64-bit hash of a whole row, ``this`` being the row's table alias (sqlfns.row_hash).

    No dialect writes it as it is: each dialect that can hash a row has a transform lowering it
    (see ``TRANSFORMS``); elsewhere ``lower`` raises a CompileError.
    """

    arg_types = {"this": True}


class CustomerBucket(exp.Expression, exp.Func):
    """Which of ``buckets`` passes a customer id falls in: an integer in [0, buckets).

    Any hash does, as long as one build uses one; each engine lowers it to its own (``TRANSFORMS``).
    """

    arg_types = {"this": True, "buckets": True}


class MergeSmallest(exp.Expression, exp.Func):
    """The ``kept`` smallest of: the values of the sorted list ``this`` at or before ``since``, and
    the sorted list ``expression`` (all of whose values are after ``since``); NULL when empty.

    Incremental builds merge stored leaf state with the new events' with it; because the new
    values all come after the kept old ones, the concatenation is already sorted.
    """

    arg_types = {"this": True, "expression": True, "since": True, "kept": True}


def merges_leaf_state(dialect: str) -> bool:
    """Whether ``dialect`` can write ``MergeSmallest`` (else incremental builds recompute the touched
    customers' leaf state from their whole history)."""
    return dialect in ("duckdb", *_SPARK_LIKE)


class ByteOrder(exp.Expression, exp.Func):
    """A text value compared by its bytes (UTF-8 code point order), whatever the engine's collation.

    Used in ORDER BY keys whose order is part of a table's contract, so that every engine breaks
    ties alike; ``lower`` writes it as the value itself where byte order is the default.
    """

    arg_types = {"this": True}


def check_dialect(dialect: str) -> str:
    """The dialect's canonical name, or a CompileError listing sqlglot's dialects."""
    try:
        Dialect.get_or_raise(dialect)
    except ValueError as exc:
        raise CompileError(f"unknown SQL dialect `{dialect}`: {exc}") from None
    return dialect.lower()


def to_sql(tree: exp.Expr, dialect: str, pretty: bool = False, source_dialect: str = "duckdb") -> str:
    """Render a tree for ``dialect``; constructs that would not mean the same there raise CompileError.

    ``source_dialect`` is the dialect user SQL in the tree was written in (the project's
    ``sql_dialect``); the compiler's own nodes are dialect-free.
    """
    dialect = check_dialect(dialect)
    if source_dialect.lower() != dialect:
        problem = untranslatable(tree, dialect)
        if problem:
            raise CompileError(f"cannot translate {problem} from {source_dialect} to {dialect}; rewrite it "
                               f"with portable SQL (or set `sql_dialect: {dialect}` and write it for {dialect})")
    lowered = lower(tree, dialect)
    try:
        return lowered.sql(dialect=dialect, pretty=pretty, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise CompileError(f"cannot write this SQL for {dialect}: {exc}") from None


_NO_STAR_MODIFIERS = ("postgres", "redshift", "trino", "presto", "sqlite", "mysql", "tsql", "oracle", *_SPARK_LIKE)
_NO_STRUCT = ("postgres", "redshift", "sqlite", "mysql", "tsql", "oracle")


def untranslatable(tree: exp.Expr, dialect: str) -> str | None:
    """The first construct sqlglot would pass through unchanged although ``dialect`` lacks it.

    sqlglot copies functions it does not know verbatim and keeps some DuckDB-only syntax; the
    engine would then fail at build time at best, or compute something else at worst.
    """
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            return f"the function `{node.name}` (sqlglot does not know it, so it cannot translate it)"
        if isinstance(node, exp.Star) and dialect in _NO_STAR_MODIFIERS and any(
                node.args.get(k) for k in ("except_", "except", "replace", "rename")):
            return "`SELECT * EXCLUDE/REPLACE/RENAME`"
        if isinstance(node, exp.Join) and str(node.args.get("method") or "").upper() == "ASOF" and dialect != "duckdb":
            return "an ASOF JOIN"
        if isinstance(node, exp.Struct) and dialect in _NO_STRUCT:
            return "a STRUCT value"
    return None


Transform = Callable[[exp.Expr, str], exp.Expr]


def _applies_to(*kinds: type[exp.Expr]) -> Callable[[Transform], Transform]:
    """Mark a transform with the node types it rewrites (``lower`` skips trees without them)."""
    def mark(transform: Transform) -> Transform:
        transform.kinds = kinds  # type: ignore[attr-defined]
        return transform

    return mark


@_applies_to(exp.CTE)
def drop_cte_hints(node: exp.Expr, dialect: str) -> exp.Expr:
    """``AS [NOT] MATERIALIZED`` on a CTE: only DuckDB and PostgreSQL accept the hint."""
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)
    return node


@_applies_to(exp.Bracket)
def nth_smallest_as_array(node: exp.Expr, dialect: str) -> exp.Expr:
    """DuckDB's bounded ``min(x, n)[n]`` as the n-th element of ``ARRAY_AGG(x ORDER BY x)``."""
    return _lower_top_n(node, dialect, sorted_list=False)


@_applies_to(exp.Bracket)
def nth_smallest_as_sorted_list(node: exp.Expr, dialect: str) -> exp.Expr:
    """DuckDB's bounded ``min(x, n)[n]`` as the n-th element of ``ARRAY_SORT(COLLECT_LIST(x))``
    (Spark's COLLECT_LIST drops an ORDER BY, so the array is sorted afterwards)."""
    return _lower_top_n(node, dialect, sorted_list=True)


@_applies_to(exp.Filter, exp.Min)
def smallest_values_as_array(node: exp.Expr, dialect: str) -> exp.Expr:
    """DuckDB's bounded top-n list ``min(x, n) [FILTER (WHERE c)]`` (sqlfns.smallest_values, not
    subscripted) as the sorted array of every matching value (``ARRAY_AGG(x ORDER BY x)``): no
    bounded top-n aggregate outside DuckDB, so the whole array, as ``_nth_smallest`` builds it."""
    return _smallest_array(node, dialect, sorted_list=False)


@_applies_to(exp.Filter, exp.Min)
def smallest_values_as_sorted_list(node: exp.Expr, dialect: str) -> exp.Expr:
    """Spark: ``ARRAY_SORT(COLLECT_LIST(x))`` of the matching values."""
    return _smallest_array(node, dialect, sorted_list=True)


def _smallest_array(node: exp.Expr, dialect: str, sorted_list: bool) -> exp.Expr:
    condition = None
    top_n = node
    if isinstance(node, exp.Filter):
        condition, top_n = node.expression.this, node.this
    elif isinstance(node.parent, exp.Filter):
        return node  # (rewritten with its filter)
    if not isinstance(top_n, exp.Min) or top_n.args.get("count") is None:
        return node
    return _sorted_values(lower(top_n.this, dialect), lower(condition, dialect) if condition is not None else None,
                          sorted_list)


@_applies_to(MergeSmallest)
def merge_smallest_as_lists(node: exp.Expr, dialect: str) -> exp.Expr:
    """DuckDB and Spark: ``NULLIF(SLICE(CONCAT(COALESCE(FILTER(old, x -> x <= since), []),
    COALESCE(new, [])), 1, kept), [])``."""
    if not isinstance(node, MergeSmallest):
        return node
    x = exp.to_identifier("x")
    old = exp.ArrayFilter(this=lower(node.this, dialect), expression=exp.Lambda(
        this=exp.LTE(this=exp.column(x.copy()), expression=lower(node.args["since"], dialect)), expressions=[x]))
    empty = exp.cast(exp.Array(expressions=[]), exp.DataType.build("ARRAY<TIMESTAMP>"))
    both = exp.ArrayConcat(this=exp.Coalesce(this=old, expressions=[empty.copy()]),
                           expressions=[exp.Coalesce(this=lower(node.expression, dialect), expressions=[empty.copy()])])
    name = "list_slice" if dialect == "duckdb" else "slice"
    kept = exp.Anonymous(this=name, expressions=[both, exp.Literal.number(1), node.args["kept"].copy()])
    return exp.Nullif(this=kept, expression=empty)


@_applies_to(exp.UnixMicros)
def unix_micros_as_date_diff(node: exp.Expr, dialect: str) -> exp.Expr:
    """Microseconds since the epoch as a microsecond date difference from 1970-01-01 (exact)."""
    if isinstance(node, exp.UnixMicros):
        return exp.DateDiff(this=node.this, expression=EPOCH.copy(), unit=exp.var("MICROSECOND"))
    return node


@_applies_to(exp.JSONExtractScalar)
def json_cast_for_text(node: exp.Expr, dialect: str) -> exp.Expr:
    """JSON properties stored as text: PostgreSQL's JSON operators need a ``json`` value."""
    if isinstance(node, exp.JSONExtractScalar):
        this = node.this
        if not (isinstance(this, exp.Cast) and this.to.is_type(exp.DataType.Type.JSON)):
            node.set("this", exp.cast(this, exp.DataType.Type.JSON))
    return node


@_applies_to(RowHash)
def row_hash_of_struct(node: exp.Expr, dialect: str) -> exp.Expr:
    """DuckDB: ``hash(alias)``, the row as one struct (any column's change shows)."""
    if isinstance(node, RowHash):
        return exp.Anonymous(this="hash", expressions=[node.this.copy()])
    return node


@_applies_to(RowHash)
def row_hash_of_text(node: exp.Expr, dialect: str) -> exp.Expr:
    """PostgreSQL: ``hashtextextended(alias::text, 0)``, the row's text form hashed."""
    if isinstance(node, RowHash):
        text = exp.cast(node.this.copy(), exp.DataType.Type.TEXT)
        return _summable(exp.Anonymous(this="hashtextextended", expressions=[text, exp.Literal.number(0)]))
    return node


@_applies_to(RowHash)
def row_hash_of_columns(node: exp.Expr, dialect: str) -> exp.Expr:
    """Spark: ``xxhash64(alias.*)``, a hash over every column of the row."""
    if isinstance(node, RowHash):
        row = node.this
        columns = exp.Column(this=exp.Star(), table=row.this.copy()) if isinstance(row, exp.Column) else row.copy()
        return _summable(exp.Anonymous(this="xxhash64", expressions=[columns]))
    return node


def _bucket(node: CustomerBucket, hashed: exp.Expr) -> exp.Expr:
    """``hashed`` (a signed or unsigned 64-bit hash) mapped onto [0, buckets)."""
    buckets = node.args["buckets"].copy()
    return exp.Mod(this=exp.Paren(this=exp.Add(this=exp.Mod(this=hashed, expression=buckets),
                                               expression=buckets.copy())), expression=buckets.copy())


@_applies_to(CustomerBucket)
def customer_bucket_by_hash(node: exp.Expr, dialect: str) -> exp.Expr:
    """DuckDB: ``hash(id) % K`` (an unsigned hash)."""
    if isinstance(node, CustomerBucket):
        return exp.Mod(this=exp.Anonymous(this="hash", expressions=[node.this.copy()]),
                       expression=node.args["buckets"].copy())
    return node


@_applies_to(CustomerBucket)
def customer_bucket_by_text_hash(node: exp.Expr, dialect: str) -> exp.Expr:
    """PostgreSQL: ``hashtextextended(id::text, 0)`` (signed), brought into [0, K)."""
    if isinstance(node, CustomerBucket):
        text = exp.cast(node.this.copy(), exp.DataType.Type.TEXT)
        return _bucket(node, exp.Anonymous(this="hashtextextended", expressions=[text, exp.Literal.number(0)]))
    return node


@_applies_to(CustomerBucket)
def customer_bucket_by_xxhash(node: exp.Expr, dialect: str) -> exp.Expr:
    """Spark: ``xxhash64(id)`` (signed), brought into [0, K)."""
    if isinstance(node, CustomerBucket):
        return _bucket(node, exp.Anonymous(this="xxhash64", expressions=[node.this.copy()]))
    return node


@_applies_to(ByteOrder)
def byte_order_as_c_collation(node: exp.Expr, dialect: str) -> exp.Expr:
    """PostgreSQL: ``value COLLATE "C"`` (byte order) instead of the database's collation."""
    if isinstance(node, ByteOrder):
        return exp.Collate(this=node.this.copy(), expression=exp.to_identifier("C", quoted=True))
    return node


def _summable(hashed: exp.Expr) -> exp.Expr:
    """The incremental fingerprint sums row hashes: cast to a type whose SUM cannot overflow."""
    return exp.cast(hashed, exp.DataType.build("DECIMAL(38, 0)"))


@_applies_to(exp.Unnest)
def series_as_table_function(node: exp.Expr, dialect: str) -> exp.Expr:
    """``UNNEST(GENERATE_SERIES(a, b)) AS s(k)``: PostgreSQL's GENERATE_SERIES is itself a table
    function returning a set (UNNEST wants an array)."""
    if isinstance(node, exp.Unnest) and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.GenerateSeries):
        series = node.expressions[0]
        function = exp.Anonymous(this="GENERATE_SERIES", expressions=[series.args["start"], series.args["end"]])
        return exp.Table(this=function, alias=node.args.get("alias"))
    return node


# Per dialect, the transforms ``lower`` applies, in order; dialects not listed get DEFAULT_TRANSFORMS.
_SPARK_TRANSFORMS: tuple[Transform, ...] = (drop_cte_hints, nth_smallest_as_sorted_list, smallest_values_as_sorted_list,
                                            merge_smallest_as_lists, row_hash_of_columns, customer_bucket_by_xxhash)
DEFAULT_TRANSFORMS: tuple[Transform, ...] = (drop_cte_hints, nth_smallest_as_array, smallest_values_as_array,
                                             unix_micros_as_date_diff)
TRANSFORMS: dict[str, tuple[Transform, ...]] = {
    "duckdb": (merge_smallest_as_lists, row_hash_of_struct, customer_bucket_by_hash),
    "postgres": (nth_smallest_as_array, smallest_values_as_array, unix_micros_as_date_diff, json_cast_for_text,
                 row_hash_of_text, series_as_table_function, byte_order_as_c_collation, customer_bucket_by_text_hash),
    "redshift": (*DEFAULT_TRANSFORMS, json_cast_for_text, byte_order_as_c_collation),
    "bigquery": (drop_cte_hints, nth_smallest_as_array, smallest_values_as_array),  # has UNIX_MICROS
    **{name: _SPARK_TRANSFORMS for name in _SPARK_LIKE},
}


def lower(tree: exp.Expr, dialect: str) -> exp.Expr:
    """A copy of ``tree`` with the DuckDB-only constructs rewritten for ``dialect`` (``tree`` itself
    when none of the dialect's transforms has anything to rewrite)."""
    transforms = [t for t in TRANSFORMS.get(dialect, DEFAULT_TRANSFORMS) if tree.find(*t.kinds)]
    if transforms:
        def rewrite(node: exp.Expr) -> exp.Expr:
            for transform in transforms:
                node = transform(node, dialect)
            return node

        tree = tree.transform(rewrite, copy=True)
    if tree.find(ByteOrder):  # DuckDB and Spark compare text by its bytes already
        tree = tree.transform(lambda n: n.this if isinstance(n, ByteOrder) else n, copy=True)
    if tree.find(RowHash):
        raise CompileError(f"incremental builds are not available for {dialect} (no whole-row hash); "
                           "set `incremental: {enabled: false}` in clg_project.yml")
    if tree.find(MergeSmallest):
        raise CompileError(f"merging stored leaf state is not available for {dialect}")
    if tree.find(CustomerBucket):
        raise CompileError(f"a progress model built in passes is not available for {dialect} (no hash "
                           "function known); leave `progress_passes` out of the profile")
    return tree


def _lower_top_n(node: exp.Expr, dialect: str, sorted_list: bool) -> exp.Expr:
    top_n = _top_n(node) if isinstance(node, exp.Bracket) else None
    if top_n is None:
        return node
    # sqlglot does not descend into a replacement node: lower its parts first
    value, n, condition = top_n
    return _nth_smallest(lower(value, dialect), n, lower(condition, dialect) if condition is not None else None,
                         sorted_list)


def _top_n(node: exp.Bracket) -> tuple[exp.Expr, int, exp.Expr | None] | None:
    """(value, n, condition) if ``node`` is sqlfns.nth_smallest's ``(min(x, n) FILTER (...))[n-1]``."""
    inner = node.this.this if isinstance(node.this, exp.Paren) else node.this
    condition = None
    if isinstance(inner, exp.Filter):
        condition = inner.expression.this
        inner = inner.this
    if not isinstance(inner, exp.Min) or inner.args.get("count") is None:
        return None
    return inner.this, int(node.expressions[0].name) + 1, condition  # the element asked for, not the state size


def _nth_smallest(value: exp.Expr, n: int, condition: exp.Expr | None, sorted_list: bool) -> exp.Expr:
    """The n-th smallest non-NULL ``value`` among rows matching ``condition``, NULL if fewer.

    Arrays keep every matching value of the group (no bounded top-n aggregate outside DuckDB);
    the element access is the "safe" one (NULL, not an error, past the end: Spark's ANSI mode
    and BigQuery raise on a plain subscript).
    """
    return exp.Bracket(this=_sorted_values(value, condition, sorted_list), expressions=[exp.Literal.number(n - 1)],
                       safe=True)


def _sorted_values(value: exp.Expr, condition: exp.Expr | None, sorted_list: bool) -> exp.Expr:
    """Every non-NULL ``value`` of the group's rows matching ``condition``, as an ascending array."""
    keep = exp.Not(this=exp.Is(this=value.copy(), expression=exp.null()))
    if condition is not None:
        keep = exp.and_(exp.Paren(this=condition.copy()), keep)
    if sorted_list:
        return exp.ArraySort(this=exp.Filter(this=exp.ArrayAgg(this=value.copy()), expression=exp.Where(this=keep)))
    ordered = exp.Order(this=value.copy(), expressions=[exp.Ordered(this=value.copy(), nulls_first=True)])
    return exp.Paren(this=exp.Filter(this=exp.ArrayAgg(this=ordered), expression=exp.Where(this=keep)))
