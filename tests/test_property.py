"""Property: on random journeys and event sets, the compiled SQL run on DuckDB gives exactly the
tables that the small pure-Python evaluator of SPEC (``reference_evaluator.py``) gives."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

from conftest import run_journey_on_duckdb
from reference_evaluator import evaluate
from strategies import scenarios

KEYS = {"milestone_status": ("journey", "customer_id", "milestone_index"),
        "customer_progress": ("journey", "customer_id"),
        "funnel": ("journey", "milestone_index")}


def keyed(rows, table):
    return sorted(rows, key=lambda r: tuple(r[k] for k in KEYS[table]))


# CLG_PROPERTY_EXAMPLES=2000 for a longer hunt than CI's
@settings(max_examples=int(os.environ.get("CLG_PROPERTY_EXAMPLES", "100")), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(scenarios())
def test_compiled_sql_matches_reference_evaluator(con, scenario):
    journey, events, customers, as_of = scenario
    expected = evaluate(journey, events, customers, as_of)
    actual = run_journey_on_duckdb(journey, events, customers, as_of, con=con)
    for table in KEYS:
        assert keyed(actual[table], table) == keyed(expected[table], table), table


# Fewer examples on the servers: each costs a few statements (PostgreSQL) or Spark jobs.
ENGINE_EXAMPLES = {"postgres": 25, "spark": 6}


@pytest.mark.parametrize("engine_name", sorted(ENGINE_EXAMPLES))
def test_compiled_sql_on_other_engines_matches_reference_evaluator(engine_name, request):
    from conftest import run_journey_on_engine
    from engines import normalized

    engine = request.getfixturevalue(f"{engine_name}_engine")
    examples = int(os.environ.get("CLG_PROPERTY_ENGINE_EXAMPLES", ENGINE_EXAMPLES[engine_name]))

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(scenarios())
    def check(scenario):
        journey, events, customers, as_of = scenario
        expected = evaluate(journey, events, customers, as_of)
        actual = run_journey_on_engine(engine, journey, events, customers, as_of)
        for table in KEYS:
            assert normalized(actual[table]) == normalized(expected[table]), table

    check()
