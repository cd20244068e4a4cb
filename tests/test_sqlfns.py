"""The arithmetic helpers of the compiler, run on DuckDB against Python's own arithmetic."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlglot import exp

from clg_metrics.compiler.sqlfns import floor_div, period_key, round_ratio, timestamp

MONDAY = datetime(1970, 1, 5)


def value(con, expression):
    return con.execute(exp.select(expression).sql("duckdb")).fetchone()[0]


@pytest.mark.parametrize("n", [-15, -14, -8, -7, -3, -1, 0, 1, 6, 7, 13, 14])
def test_floor_div_floors_negative_numerators(con, n):
    # a composite numerator: the bug was `a - b % d` binding as a - (b % d)
    numerator = exp.Sub(this=exp.Literal.number(n + 5), expression=exp.Literal.number(5))
    assert value(con, floor_div(numerator, 7)) == n // 7


@pytest.mark.parametrize("moment", [datetime(1969, 12, 28, 12), datetime(1970, 1, 4, 23, 59), datetime(1970, 1, 5),
                                    datetime(1900, 3, 1), datetime(2024, 3, 3, 23, 59, 59), datetime(2024, 3, 4)])
def test_week_and_day_keys_before_and_after_the_epoch(con, moment):
    assert value(con, period_key(timestamp(moment), "week")) == (moment - MONDAY) // timedelta(weeks=1)
    assert value(con, period_key(timestamp(moment), "day")) == (moment - MONDAY) // timedelta(days=1)
    assert value(con, period_key(timestamp(moment), "month")) == moment.year * 12 + moment.month


@pytest.mark.parametrize("n, d", [(1, 8), (3, 8), (-1, 8), (-3, 8), (5, 10), (-5, 10), (2, 3), (-2, 3), (7, 1)])
def test_round_ratio_is_half_away_from_zero(con, n, d):
    expected = int((Decimal(n) / Decimal(d)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert value(con, round_ratio(exp.Literal.number(n), exp.Literal.number(d))) == expected
