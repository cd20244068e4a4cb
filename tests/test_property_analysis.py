"""Property: on random journeys with SPEC §4 segments / analysis settings and random data, the
compiled SQL gives exactly the §4 tables that the pure-Python oracle (``reference_analysis.py``)
gives.

Only the §4 tables already in the output registry (``clg_metrics.compiler.OUTPUT_TABLES``) are
compared, so the test grows with the compiler; it skips while none is there.
"""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
from conftest import run_journey_on_duckdb
from hypothesis import HealthCheck, given, settings
from reference_analysis import ANALYSIS_TABLES, evaluate_analysis
from strategies import scenarios

from clg_metrics.compiler import OUTPUT_NAMES

PRESENT = tuple(t for t in ANALYSIS_TABLES if t in OUTPUT_NAMES)

pytestmark = pytest.mark.skipif(not PRESENT, reason="no SPEC §4 table in clg_metrics.compiler.OUTPUT_TABLES yet")

KEYS = {"segment_members": ("journey", "segment", "customer_id"),
        "segment_funnel": ("journey", "segment", "milestone_index"),
        "success_gaps": ("journey", "segment", "to_index"),
        "win_back": ("journey", "customer_id"),
        "cohort_funnel": ("journey", "cohort_start", "milestone_index"),
        "kpi_trend": ("journey", "milestone_index", "period_start"),
        "period_kpis": ("journey", "milestone_index", "period_start")}


def comparable(rows: list[dict], table: str) -> list[dict]:
    """Rows sorted by the table's key; engines' integral NUMERICs (Decimal) as int, others as float."""
    def value(v):
        if isinstance(v, Decimal):
            return int(v) if v == v.to_integral_value() else float(v)
        return v

    return sorted(({k: value(v) for k, v in row.items()} for row in rows),
                  key=lambda r: tuple(r[k] for k in KEYS[table]))


def check(actual: dict, expected: dict) -> None:
    for table in PRESENT:
        got, want = comparable(actual[table], table), comparable(expected[table], table)
        if got and want:
            assert list(got[0]) == list(want[0]), f"{table}: columns"
        assert got == want, table


# CLG_PROPERTY_EXAMPLES=2000 for a longer hunt than CI's
@settings(max_examples=int(os.environ.get("CLG_PROPERTY_EXAMPLES", "100")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(scenarios(with_analysis=True))
def test_compiled_analysis_sql_matches_reference_analysis(con, scenario):
    journey, events, customers, as_of = scenario
    expected = evaluate_analysis(journey, events, customers, as_of)
    actual = run_journey_on_duckdb(journey, events, customers, as_of, con=con)
    check(actual, expected)


# Fewer examples on the servers: each costs a few statements (PostgreSQL) or Spark jobs.
ENGINE_EXAMPLES = {"postgres": 15, "spark": 4}


@pytest.mark.parametrize("engine_name", sorted(ENGINE_EXAMPLES))
def test_compiled_analysis_sql_on_other_engines_matches_reference_analysis(engine_name, request):
    from conftest import run_journey_on_engine

    engine = request.getfixturevalue(f"{engine_name}_engine")
    examples = int(os.environ.get("CLG_PROPERTY_ENGINE_EXAMPLES", ENGINE_EXAMPLES[engine_name]))

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(scenarios(with_analysis=True))
    def run(scenario):
        journey, events, customers, as_of = scenario
        expected = evaluate_analysis(journey, events, customers, as_of)
        actual = run_journey_on_engine(engine, journey, events, customers, as_of)
        check(actual, expected)

    run()
