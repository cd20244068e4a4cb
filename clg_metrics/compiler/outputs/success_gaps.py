"""``success_gaps`` (SPEC §4): per journey × segment × step into milestone i >= 2, who converted,
who dropped, and how many more would have converted at the benchmark segment's rate.

Built in three levels over ``segment_rows``: counts per segment (every segment present, also
when empty), one row per step (a CROSS JOIN with the steps' VALUES), then the benchmark's figures
beside each row (a window over the step) and the rank (a window over the segment).
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from ...spec import Journey
from ..progress import reached_column, status_expr
from ..sqlfns import col, hundredths, percent, round_ratio
from .common import T, empty, names_values, segment_names, segment_rows, text, union_all
from .table import BuiltJourney, OutputTable

COLUMNS = (("journey", T.VARCHAR), ("segment", T.VARCHAR), ("from_milestone", T.VARCHAR), ("to_index", T.INT),
           ("to_milestone", T.VARCHAR), ("customers_at_from", T.BIGINT), ("customers_converted", T.BIGINT),
           ("conversion_pct", T.DOUBLE), ("dropped", T.BIGINT), ("still_in_progress", T.BIGINT),
           ("benchmark_segment", T.VARCHAR), ("benchmark_conversion_pct", T.DOUBLE), ("gap_customers", T.DOUBLE),
           ("rank", T.INT))


def _when(condition: exp.Expr) -> exp.Expr:
    """COUNT(CASE WHEN condition THEN 1 END): 0 for an empty segment, unlike SUM."""
    return exp.Count(this=exp.Case(ifs=[exp.If(this=condition, true=exp.Literal.number(1))]))


def _steps(journey: Journey) -> exp.Values:
    names = [m.milestone for _, m in journey.milestones]
    rows = [exp.Tuple(expressions=[exp.cast(exp.Literal.number(i), T.INT), text(names[i - 2]), text(names[i - 1])])
            for i in range(2, len(names) + 1)]
    return exp.Values(expressions=rows, alias=exp.TableAlias(this=exp.to_identifier("d"), columns=[
        exp.to_identifier(c) for c in ("to_index", "from_milestone", "to_milestone")]))


def _by_step(journey: Journey, prefix: str) -> exp.Expr:
    return exp.Case(this=col("to_index", "d"), ifs=[exp.If(this=exp.Literal.number(i), true=col(f"{prefix}_{i}", "a"))
                                                    for i in range(2, len(journey.milestones) + 1)])


def journey_gaps(journey: Journey, table: str, as_of: datetime) -> exp.Select:
    count = len(journey.milestones)
    counts = []
    for i in range(2, count + 1):
        before, this = col(reached_column(i - 1), "x"), col(reached_column(i), "x")
        reached_before = exp.Not(this=exp.Is(this=before, expression=exp.null()))
        counts += [
            exp.alias_(_when(reached_before.copy()), f"f_{i}", quoted=True),
            exp.alias_(_when(exp.and_(reached_before.copy(), exp.Not(this=exp.Is(this=this, expression=exp.null())))),
                       f"v_{i}", quoted=True),
            exp.alias_(_when(exp.and_(reached_before.copy(), exp.Is(this=this.copy(), expression=exp.null()),
                                      exp.EQ(this=status_expr(journey, i, as_of, "x"),
                                             expression=exp.Literal.string("in_progress")))), f"p_{i}", quoted=True),
        ]
    per_segment = (exp.select(col("segment", "g"), *counts)
                   .from_(names_values(segment_names(journey), "g", "segment"), copy=False)
                   .join(segment_rows(journey, table), on=exp.EQ(this=col("segment", "x"),
                                                                 expression=col("segment", "g")),
                         join_type="LEFT", copy=False)
                   .group_by(col("segment", "g"), copy=False).subquery("a"))
    steps = (exp.select(col("segment", "a"), col("to_index", "d"), col("from_milestone", "d"), col("to_milestone", "d"),
                        exp.alias_(_by_step(journey, "f"), "at_from", quoted=True),
                        exp.alias_(_by_step(journey, "v"), "converted", quoted=True),
                        exp.alias_(_by_step(journey, "p"), "still", quoted=True))
             .from_(per_segment, copy=False).join(_steps(journey), join_type="CROSS", copy=False))
    benchmark = journey.benchmark
    if benchmark is not None:
        def of_benchmark(column: str) -> exp.Expr:
            only = exp.Case(ifs=[exp.If(this=exp.EQ(this=col("segment", "s"), expression=text(benchmark)),
                                        true=col(column, "s"))])
            return exp.Window(this=exp.Max(this=only), partition_by=[col("to_index", "s")])

        steps = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("s")),
                           exp.alias_(of_benchmark("at_from"), "b_from", quoted=True),
                           exp.alias_(of_benchmark("converted"), "b_converted", quoted=True)).from_(
            steps.subquery("s"), copy=False)
        at_from, converted = col("at_from", "b"), col("converted", "b")
        b_from, b_converted = col("b_from", "b"), col("b_converted", "b")
        # at_from × (b_converted / b_from − converted / at_from), exactly, in hundredths
        numerator = exp.Mul(this=exp.Literal.number(100), expression=exp.Paren(this=exp.Sub(
            this=exp.Mul(this=exp.cast(at_from.copy(), T.BIGINT), expression=b_converted.copy()),
            expression=exp.Mul(this=exp.cast(converted.copy(), T.BIGINT), expression=b_from.copy()))))
        defined = exp.and_(exp.GT(this=at_from.copy(), expression=exp.Literal.number(0)),
                           exp.GT(this=b_from.copy(), expression=exp.Literal.number(0)))
        gap_h: exp.Expr = exp.Case(ifs=[exp.If(this=defined, true=round_ratio(numerator, b_from.copy()))])
        bench_name = text(benchmark)
        bench_pct = percent(col("b_converted", "r"), col("b_from", "r"))  # read from the ranked rows
    else:
        gap_h = exp.cast(exp.null(), T.BIGINT)
        bench_name, bench_pct = text(None), exp.cast(exp.null(), T.DOUBLE)
    rows = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("b")),
                      exp.alias_(gap_h, "gap_h", quoted=True)).from_(steps.subquery("b"), copy=False).subquery("r")
    at_from, converted = col("at_from", "r"), col("converted", "r")
    dropped = exp.Sub(this=at_from.copy(), expression=converted.copy())
    # NULL gaps last, written as a sort key: engines differ in their default NULL order and not all
    # accept NULLS LAST in a window; dropped and to_index are never NULL
    gap_missing = exp.Case(ifs=[exp.If(this=exp.Is(this=col("gap_h", "r"), expression=exp.null()),
                                       true=exp.Literal.number(1))], default=exp.Literal.number(0))
    rank = exp.Window(this=exp.RowNumber(), partition_by=[col("segment", "r")], order=exp.Order(expressions=[
        exp.Ordered(this=gap_missing, nulls_first=True),
        exp.Ordered(this=col("gap_h", "r"), desc=True, nulls_first=False),
        exp.Ordered(this=dropped.copy(), desc=True, nulls_first=False),
        exp.Ordered(this=col("to_index", "r"), nulls_first=True)]))
    return exp.select(
        exp.alias_(text(journey.journey), "journey", quoted=True), col("segment", "r"), col("from_milestone", "r"),
        col("to_index", "r"), col("to_milestone", "r"),
        exp.alias_(exp.cast(at_from, T.BIGINT), "customers_at_from", quoted=True),
        exp.alias_(exp.cast(converted, T.BIGINT), "customers_converted", quoted=True),
        exp.alias_(percent(converted.copy(), at_from.copy()), "conversion_pct", quoted=True),
        exp.alias_(exp.cast(dropped, T.BIGINT), "dropped", quoted=True),
        exp.alias_(exp.cast(col("still", "r"), T.BIGINT), "still_in_progress", quoted=True),
        exp.alias_(bench_name, "benchmark_segment", quoted=True),
        exp.alias_(bench_pct, "benchmark_conversion_pct", quoted=True),
        exp.alias_(hundredths(col("gap_h", "r")), "gap_customers", quoted=True),
        exp.alias_(exp.cast(rank, T.INT), "rank", quoted=True),
    ).from_(rows, copy=False)


def build(journeys: list[BuiltJourney], as_of: datetime) -> exp.Query:
    selects = [journey_gaps(journey, table, as_of) for journey, table, *_ in journeys if len(journey.milestones) >= 2]
    return union_all(selects, empty(COLUMNS))


TABLE = OutputTable("success_gaps", COLUMNS, build, order_by=("journey", "segment", "to_index"),
                    reads=("segment_members",))
