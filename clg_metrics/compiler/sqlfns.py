"""Small sqlglot builders shared by the compiler: null-safe greatest/least, n-th smallest, period keys,
exact rounding.

Everything here returns dialect-free sqlglot expressions; rendering happens in ``models.py``.
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from ..dialects import CustomerBucket, MergeSmallest, RowHash

US_PER_DAY = 86_400_000_000
US_PER_WEEK = 7 * US_PER_DAY
# 1970-01-05 was a Monday: week numbers counted from it start on Mondays (SPEC: weeks start Monday).
MONDAY_EPOCH_US = 4 * US_PER_DAY


def col(name: str, table: str | None = None) -> exp.Column:
    """A quoted column reference: user column names may hold any character."""
    return exp.column(exp.to_identifier(name, quoted=True), table=exp.to_identifier(table) if table else None)


def row_hash(alias: str) -> exp.Expr:
    """A 64-bit hash of the whole row of table ``alias`` (each dialect lowers it, see dialects.py)."""
    return RowHash(this=exp.column(alias))


def customer_bucket(customer_id: exp.Expr, buckets: int, integer_ids: bool = False) -> exp.Expr:
    """Which of ``buckets`` passes of a progress build the customer belongs to (see dialects.py).

    The id is hashed as text, so that an id is in the same bucket whichever type the events, the
    customers source and the previous progress table store it as; as a BIGINT where all of them
    are integers (``integer_ids``: hashing a number is ~3× cheaper than casting it to text first,
    2 s per pass over 100M events).
    """
    as_type = exp.DataType.Type.BIGINT if integer_ids else exp.DataType.Type.TEXT
    return CustomerBucket(this=exp.cast(customer_id, as_type), buckets=exp.Literal.number(buckets))


def timestamp(value: datetime) -> exp.Expr:
    """A UTC TIMESTAMP literal."""
    return exp.cast(exp.Literal.string(value.strftime("%Y-%m-%d %H:%M:%S.%f")), exp.DataType.Type.TIMESTAMP)


def parse_timestamp(value: exp.Expr, fmt: str | None = None) -> exp.Expr:
    """A source column as TIMESTAMP: a cast, or with ``fmt`` (strftime codes, e.g. ``%m/%d/%Y %H:%M``)
    a parse in that format, for text a cast does not read (each dialect gets its own format codes)."""
    if fmt is None:
        return exp.cast(value, exp.DataType.Type.TIMESTAMP)
    text = exp.cast(value, exp.DataType.Type.VARCHAR)  # a column the source already types as a timestamp too
    return exp.cast(exp.StrToTime(this=text, format=exp.Literal.string(fmt)), exp.DataType.Type.TIMESTAMP)


def all_of(parts: list[exp.Expr]) -> exp.Expr:
    """The moment every part holds: the latest one, NULL if any is NULL.

    ``GREATEST`` ignores NULLs in DuckDB, PostgreSQL and Spark, so the NULL guard is explicit.
    """
    parts = _distinct(parts)
    if len(parts) == 1:
        return parts[0]
    guard = exp.and_(*[exp.Not(this=exp.Is(this=p.copy(), expression=exp.null())) for p in parts])
    greatest = exp.Greatest(this=parts[0].copy(), expressions=[p.copy() for p in parts[1:]], ignore_nulls=True)
    return exp.Case(ifs=[exp.If(this=guard, true=greatest)])


def any_of(parts: list[exp.Expr]) -> exp.Expr:
    """The moment some part holds: the earliest non-NULL one (``LEAST`` skips NULLs)."""
    parts = _distinct(parts)
    if len(parts) == 1:
        return parts[0]
    return exp.Least(this=parts[0].copy(), expressions=[p.copy() for p in parts[1:]], ignore_nulls=True)


def _distinct(parts: list[exp.Expr]) -> list[exp.Expr]:
    """Drop repeated arguments (``all: [{milestone: a}, {milestone: a}]``): DuckDB refuses
    GREATEST(x, x) in a stored query ("duplicate named argument"), and they change nothing."""
    seen: dict[str, exp.Expr] = {}
    for part in parts:
        seen.setdefault(part.sql(), part)
    return list(seen.values())


def is_not_null(e: exp.Expr) -> exp.Expr:
    return exp.Not(this=exp.Is(this=e.copy(), expression=exp.null()))


def nth_smallest(value: exp.Expr, n: int, condition: exp.Expr | None, kept: int | None = None) -> exp.Expr:
    """The n-th smallest ``value`` among the group's rows matching ``condition`` (NULL if fewer).

    n = 1 is a plain MIN; otherwise DuckDB's bounded top-n aggregate ``min(x, kept)`` (``kept`` >= n,
    default n), which keeps that many values per group in the hash aggregate (faster than sorting
    or a window, see the benchmark). Leaves with the same condition pass the same ``kept`` (their
    largest n), so the engine computes one aggregate for all of them: its per-group state cannot
    spill to disk, and it is most of the progress query's memory.
    """
    if n == 1:
        agg: exp.Expr = exp.Min(this=value)
        return exp.Filter(this=agg, expression=exp.Where(this=condition)) if condition is not None else agg
    agg = exp.Min(this=value, count=exp.Literal.number(max(n, kept or n)))
    if condition is not None:
        agg = exp.Filter(this=agg, expression=exp.Where(this=condition))
    # sqlglot numbers array elements from 0 and shifts to each dialect's base when rendering
    return exp.Bracket(this=exp.Paren(this=agg), expressions=[exp.Literal.number(n - 1)])


def smallest_values(value: exp.Expr, kept: int, condition: exp.Expr | None) -> exp.Expr:
    """The ``kept`` smallest ``value`` of the group's rows matching ``condition``, as an ascending
    list (NULL if none): the mergeable form of ``nth_smallest`` that leaf state keeps (DuckDB's
    bounded ``min(x, kept)``; ``dialects.py`` writes it as a sorted array elsewhere)."""
    values: exp.Expr = exp.Min(this=value, count=exp.Literal.number(kept))
    return exp.Filter(this=values, expression=exp.Where(this=condition)) if condition is not None else values


def merge_smallest(stored: exp.Expr, new: exp.Expr, since: datetime, kept: int) -> exp.Expr:
    """The ``kept`` smallest of a stored list's values at or before ``since`` and a list of later ones."""
    return MergeSmallest(this=stored, expression=new, since=timestamp(since), kept=exp.Literal.number(kept))


def element(values: exp.Expr, n: int) -> exp.Expr:
    """The n-th (1-based) element of a list, NULL past its end (the "safe" subscript)."""
    return exp.Bracket(this=values, expressions=[exp.Literal.number(n - 1)], safe=True)


def epoch_us(ts: exp.Expr) -> exp.Expr:
    return exp.UnixMicros(this=ts)


def period_key(ts: exp.Expr, grain: str) -> exp.Expr:
    """An integer that numbers calendar periods (UTC) so that consecutive periods differ by 1.

    Integers are cheaper than ``date_trunc`` (measured in the benchmark) and make "the previous
    period" a subtraction. month = year * 12 + month; day and week count from Monday 1970-01-05.
    """
    if grain == "month":
        return exp.Add(this=exp.Mul(this=exp.Year(this=ts), expression=exp.Literal.number(12)),
                       expression=exp.Month(this=ts.copy()))
    width = US_PER_DAY if grain == "day" else US_PER_WEEK
    shifted = exp.Sub(this=epoch_us(ts), expression=exp.Literal.number(MONDAY_EPOCH_US))
    return floor_div(shifted, width)


def floor_div(numerator: exp.Expr, divisor: int) -> exp.Expr:
    """Floor division by a positive integer constant, right for negative numerators too.

    Engines disagree on integer division of negatives (DuckDB truncates), so this is written as
    (n - ((n % d) + d) % d) / d, exact in integer arithmetic everywhere.
    """
    # Parentheses are explicit: sqlglot prints a hand-built tree as is, and `a - b % d` binds as a - (b % d).
    n = exp.Paren(this=numerator.copy())
    d = exp.Literal.number(divisor)
    mod = exp.Paren(this=exp.Mod(this=exp.Paren(this=exp.Add(this=exp.Paren(this=exp.Mod(this=n, expression=d)),
                                                                expression=d.copy())), expression=d.copy()))
    exact = exp.Paren(this=exp.Sub(this=n.copy(), expression=mod))
    return exp.IntDiv(this=exact, expression=d.copy())


def round_ratio(numerator: exp.Expr, denominator: exp.Expr) -> exp.Expr:
    """numerator / denominator rounded to an integer, half away from zero, exactly.

    Both are integers and the denominator positive, so sign(n) * ((2|n| + d) // (2d)) is exact on
    every engine (floating-point rounding of ties differs between engines; SPEC §3). The sign is
    cast back to an integer: PostgreSQL's and Spark's return a DOUBLE, and -1.0 * 0 is -0.0, which
    a reader sees as "-0.0 days" for a milestone reached a minute before the previous one.
    """
    two = exp.cast(exp.Literal.number(2), exp.DataType.Type.BIGINT)  # 2 * d overflows INT for large d
    absolute = exp.Abs(this=numerator.copy())
    rounded = exp.IntDiv(
        this=exp.Paren(this=exp.Add(this=exp.Mul(this=two, expression=absolute), expression=denominator.copy())),
        expression=exp.Paren(this=exp.Mul(this=two.copy(), expression=denominator.copy())),
    )
    sign = exp.cast(exp.Sign(this=numerator.copy()), exp.DataType.Type.BIGINT)
    return exp.Mul(this=sign, expression=exp.Paren(this=rounded))


def hundredths(integer_hundredths: exp.Expr) -> exp.Expr:
    """An integer count of hundredths as a DOUBLE with two decimals (q / 100 is correctly rounded)."""
    return exp.Div(this=exp.cast(integer_hundredths, exp.DataType.Type.DOUBLE), expression=exp.Literal.number("100.0"))


def percent(part: exp.Expr, whole: exp.Expr) -> exp.Expr:
    """100 * part / whole rounded to two decimals half away from zero; NULL when whole is 0."""
    value = hundredths(round_ratio(exp.Mul(this=exp.Literal.number(10000), expression=part.copy()), whole))
    return exp.Case(ifs=[exp.If(this=exp.GT(this=whole.copy(), expression=exp.Literal.number(0)), true=value)])


def days_from_us(us: exp.Expr, halves: bool = False) -> exp.Expr:
    """A microsecond count as fractional days rounded to two decimals (half away from zero).

    With ``halves`` the count is in half-microseconds (a median of two middle values, summed).
    """
    per_hundredth = US_PER_DAY // 100 * (2 if halves else 1)
    integer = exp.cast(us, exp.DataType.Type.BIGINT)
    return hundredths(round_ratio(integer, exp.Literal.number(per_hundredth)))


def interval(amount: int, unit: str) -> exp.Interval:
    """An interval literal: ``unit`` is days, hours, minutes or seconds."""
    return exp.Interval(this=exp.Literal.string(str(amount)), unit=exp.Var(this=unit.rstrip("s").upper()))


def rows_query(columns: tuple[tuple[str, exp.DataType.Type], ...], rows: list[tuple],
               previous: exp.Select | None = None) -> exp.Query:
    """``previous`` (if any) UNION ALL one typed SELECT of literals per row; zero typed rows if none.

    How bookkeeping tables (dq_results, clg_state) are appended to: values enter as literals.
    """
    from ..filters import literal

    def typed(value, kind):
        if isinstance(value, datetime):
            value = value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return exp.cast(literal(value), kind)

    selects: list[exp.Query] = [previous] if previous is not None else []
    for row in rows:
        selects.append(exp.select(*[exp.alias_(typed(v, kind), name, quoted=True)
                                    for v, (name, kind) in zip(row, columns)]))
    if not selects:
        return exp.select(*[exp.alias_(exp.cast(exp.null(), kind), name, quoted=True)
                            for name, kind in columns]).where(exp.false())
    query = selects[0]
    for select in selects[1:]:
        query = exp.union(query, select, distinct=False)
    return query


def epoch_micros(value: datetime) -> int:
    """A naive UTC datetime as microseconds since the epoch, computed here so SQL compares integers."""
    delta = value - datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


MONTH_KEY_1970 = 1970 * 12 + 1  # period_key of January 1970


def key_to_date(key: exp.Expr, grain: str) -> exp.Expr:
    """The DATE a ``period_key`` of ``grain`` starts on (the inverse of ``period_key``)."""
    key = exp.Paren(this=key)
    if grain == "month":
        start, step, unit = "1970-01-01", exp.Sub(this=key, expression=exp.Literal.number(MONTH_KEY_1970)), "MONTH"
    else:
        start, unit = "1970-01-05", "DAY"
        step = key if grain == "day" else exp.Mul(this=key, expression=exp.Literal.number(7))
    # an INT count of days or months: Spark's DATE_ADD/ADD_MONTHS refuse a BIGINT
    moved = exp.DateAdd(this=exp.cast(exp.Literal.string(start), exp.DataType.Type.DATE),
                        expression=exp.cast(step, exp.DataType.Type.INT), unit=exp.var(unit))
    return exp.cast(moved, exp.DataType.Type.DATE)


def period_key_of(value: datetime, grain: str) -> int:
    """``period_key`` of a Python datetime (for ``as_of``), computed the same way."""
    if grain == "month":
        return value.year * 12 + value.month
    width = US_PER_DAY if grain == "day" else US_PER_WEEK
    return (epoch_micros(value) - MONDAY_EPOCH_US) // width
