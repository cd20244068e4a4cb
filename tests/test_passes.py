"""A progress model built in passes by customer (``compiler.journey.Pass``, decided in
``phases/plan.py`` from DuckDB's memory_limit) gives exactly the rows of the one query: on random
journeys and events on DuckDB, on PostgreSQL and Spark through their own hash functions, and in a
whole build, full and incremental."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from datetime import datetime

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings

from clg_metrics.compiler import EventSource, JourneyCompiler
from clg_metrics.compiler.journey import Incremental, Pass
from clg_metrics.models import render
from conftest import EVENT_COLUMNS, journey_spec, run_journey_on_duckdb
from strategies import scenarios


def compiled(spec, as_of, part=None, incremental=None):
    source = EventSource("events", spec.events.columns, list(EVENT_COLUMNS))
    return JourneyCompiler(spec, source, as_of, part=part, incremental=incremental).compile()


def rows_of(con, query) -> Counter:
    return Counter(repr(row) for row in con.execute(render(query, "duckdb", pretty=False)).fetchall())


@settings(max_examples=int(os.environ.get("CLG_PASSES_EXAMPLES", "20")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(scenarios(with_analysis=True))
def test_passes_give_exactly_the_rows_of_one_query(con, scenario):
    journey, events, customers, as_of = scenario
    run_journey_on_duckdb(journey, events, customers, as_of, con=con)  # the typed events/customers tables
    spec = journey_spec(journey, customers, None)
    whole = rows_of(con, compiled(spec, as_of))
    for integer_ids in (False, True):  # the test tables' ids are BIGINT: both hash forms apply
        parts = [rows_of(con, compiled(spec, as_of, Pass(index, 3, integer_ids))) for index in range(3)]
        assert sum(parts, Counter()) == whole
        assert all(not (a & b) for i, a in enumerate(parts) for b in parts[i + 1:])  # no customer twice


def test_incremental_passes_keep_every_other_customer(con):
    """An incremental pass recomputes its affected customers and keeps its other ones: together the
    passes give the previous table with the affected customers' rows replaced."""
    journey = {"journey": "j", "order": "sequential", "customers": {"from": "customers"},
               "phases": [{"phase": "p", "milestones": [
                   {"milestone": "a", "reached_when": {"event": "x"}},
                   {"milestone": "b", "reached_when": {"event": "y", "at_least": 2}}]}]}
    customers = [{"customer_id": i, "signed_up_at": datetime(2024, 1, 1), "plan": "pro"} for i in range(1, 41)]
    events = [{"customer_id": i, "event_name": name, "occurred_at": datetime(2024, 1, 2 + (i + k) % 20)}
              for i in range(1, 41) for k, name in enumerate(["x", "y", "y", "y"][: 1 + i % 4])]
    as_of = datetime(2024, 3, 1)
    run_journey_on_duckdb(journey, events, customers, as_of, con=con)
    spec = journey_spec(journey, customers, None)
    con.execute(f"CREATE OR REPLACE TABLE previous AS {render(compiled(spec, as_of), 'duckdb', pretty=False)}")
    con.execute("INSERT INTO events (customer_id, event_name, occurred_at) "
                "SELECT customer_id, 'y', TIMESTAMP '2024-02-20' FROM range(1, 41, 3) t(customer_id)")
    since = Incremental("previous", datetime(2024, 2, 1))
    whole = rows_of(con, compiled(spec, as_of))
    assert rows_of(con, compiled(spec, as_of, incremental=since)) == whole
    parts = [rows_of(con, compiled(spec, as_of, Pass(index, 3), since)) for index in range(3)]
    assert sum(parts, Counter()) == whole


@pytest.mark.parametrize("engine_name", ["postgres", "spark"])
def test_other_engines_bucket_every_id_once(engine_name, request):
    """PostgreSQL's and Spark's lowerings of the bucket put every id, of either sign of its hash,
    in exactly one of the buckets [0, K), and the same id as a number and as text alike."""
    from sqlglot import exp

    from clg_metrics.compiler.sqlfns import customer_bucket

    engine = request.getfixturevalue(f"{engine_name}_engine")
    ids = exp.select(exp.alias_(exp.cast(exp.column("n"), "BIGINT"), "id")).from_(
        exp.Unnest(expressions=[exp.GenerateSeries(start=exp.Literal.number(1), end=exp.Literal.number(200))],
                   alias=exp.TableAlias(this=exp.to_identifier("s"), columns=[exp.to_identifier("n")])))
    query = exp.select(exp.column("id"), exp.alias_(customer_bucket(exp.column("id"), 7), "b"),
                       exp.alias_(customer_bucket(exp.cast(exp.cast(exp.column("id"), "TEXT"), "TEXT"), 7), "t")
                       ).from_(ids.subquery("ids"))
    _, rows = engine.fetch(query)
    assert len(rows) == 200
    assert all(0 <= b < 7 and b == t for _, b, t in rows)
    assert len({b for _, b, _ in rows}) == 7  # the hash spreads the ids


def test_a_build_in_passes_equals_one_pass(tmp_path):
    """The demo built with ``progress_passes: 3`` publishes exactly the tables of a one-pass build,
    and its incremental rebuild too; run_results says the passes were used."""
    import json

    from click.testing import CliRunner

    from clg_metrics.cli import main
    from conftest import copy_demo

    one, three = copy_demo(tmp_path / "one"), copy_demo(tmp_path / "three")
    profile = "clg_metrics:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: target/clg.duckdb\n"
    (one / "profiles.yml").write_text(profile)
    (three / "profiles.yml").write_text(profile + "      progress_passes: 3\n")
    for attempt in ("full", "incremental"):
        for project in (one, three):
            result = CliRunner().invoke(main, ["build", "--project-dir", str(project)])
            assert result.exit_code == 0, result.output
        message = {r["name"]: r.get("message") for r in json.loads(
            (three / "target" / "run_results.json").read_text())["results"]}
        assert any("in 3 passes by customer" in (m or "") and m.startswith(attempt) for m in message.values()), message
        con = duckdb.connect(str(one / "target" / "clg.duckdb"), read_only=True)
        con.execute(f"ATTACH '{three / 'target' / 'clg.duckdb'}' AS three (READ_ONLY)")
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_catalog = 'clg' AND table_schema = 'main'").fetchall()]
        for table in [t for t in tables if not t.startswith("clg_") and t != "dq_results"]:  # not bookkeeping
            for a, b in (("main", "three.main"), ("three.main", "main")):
                differing = con.execute(f'SELECT count(*) FROM (SELECT * FROM {a}."{table}" '
                                        f'EXCEPT ALL SELECT * FROM {b}."{table}")').fetchone()[0]
                assert differing == 0, (attempt, table)
        con.close()
    shutil.rmtree(tmp_path)


def test_incremental_builds_size_their_passes_by_the_touched_customers(tmp_path, monkeypatch):
    """A full build that needs several passes for all customers; the incremental build after it
    merges the new events of far fewer customers, so it needs fewer passes (one here), and still
    publishes exactly the tables of a build in one pass."""
    import json

    from click.testing import CliRunner

    from clg_metrics.cli import main
    from clg_metrics.engines import duckdb as duckdb_engine
    from conftest import copy_demo

    # 2 MB per customer: the demo's customers need several passes of 800 MB, a few touched ones one
    monkeypatch.setattr(duckdb_engine, "PROGRESS_BYTES_PER_CUSTOMER", 2_000_000)
    one, sized = copy_demo(tmp_path / "one"), copy_demo(tmp_path / "sized")
    profile = "clg_metrics:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: target/clg.duckdb\n"
    (one / "profiles.yml").write_text(profile + "      progress_passes: 1\n")
    (sized / "profiles.yml").write_text(profile + "      memory_limit: 800MB\n")
    passes = {}
    for attempt in ("full", "incremental"):
        for project in (one, sized):
            result = CliRunner().invoke(main, ["build", "--project-dir", str(project)])
            assert result.exit_code == 0, result.output
        results = json.loads((sized / "target" / "run_results.json").read_text())["results"]
        said = next(r["message"] for r in results if r["name"].startswith("progress__"))
        assert said.startswith(attempt), said
        passes[attempt] = int(said.split(" passes")[0].rsplit(" ", 1)[1]) if " passes" in said else 1
        con = duckdb.connect(str(one / "target" / "clg.duckdb"), read_only=True)
        con.execute(f"ATTACH '{sized / 'target' / 'clg.duckdb'}' AS sized (READ_ONLY)")
        for table in ("milestone_status", "customer_progress", "funnel", "progress__audience_research"):
            for a, b in (("main", "sized.main"), ("sized.main", "main")):
                differing = con.execute(f'SELECT count(*) FROM (SELECT * FROM {a}."{table}" '
                                        f'EXCEPT ALL SELECT * FROM {b}."{table}")').fetchone()[0]
                assert differing == 0, (attempt, table)
        con.close()
    assert passes["full"] > 1 and passes["incremental"] < passes["full"], passes
