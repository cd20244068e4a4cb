"""What tests/test_spark_cluster.py runs in a subprocess against a Spark cluster or Connect server.

A process of its own because the pytest process may already hold a local SparkContext (one per
JVM, and pyspark cannot add a Connect session beside it), and because the engine reuses a
session active in its process: only a fresh process starts one from the target as a user's would.

    python tests/spark_client.py cli ARGS...                  the CLI (``clg-metrics ARGS...``)
    python tests/spark_client.py outputs TARGET PROJECT OUT   ``show funnel``, then every output table
    python tests/spark_client.py semantics TARGET OUT CASE... test_semantics cases, rows equal DuckDB's

TARGET is a SparkTarget as JSON; OUT a pickle file the test reads back (rows keep their Python
types: datetimes, Decimals). Cases report their failures in OUT rather than stopping the rest.
"""

from __future__ import annotations

import pickle
import sys
import traceback
from pathlib import Path


def target_of(text: str):
    from clg_metrics.profiles import SparkTarget

    return SparkTarget.model_validate_json(text)


def outputs(target_json: str, project: str, out: str) -> None:
    """``show funnel`` in this later process, then the output tables and the first build's checks."""
    from click.testing import CliRunner

    from clg_metrics.cli import main
    from clg_metrics.compiler import OUTPUT_NAMES
    from clg_metrics.engines import connect
    from engines import DQ_QUERY, rows

    engine = connect(target_of(target_json), Path(project))  # (the CLI's engine reuses this session)
    try:
        show = CliRunner().invoke(main, ["show", "funnel", "--target", "wh", "--project-dir", project])
        tables = {t: rows(*engine.fetch(f"SELECT * FROM {engine.quote(t)}")) for t in OUTPUT_NAMES}
        dq = [tuple(r) for r in engine.fetch(DQ_QUERY.replace('"dq_results"', engine.quote("dq_results")))[1]]
    finally:
        engine.close()
    result = {"show": (show.exit_code, show.output), "tables": tables, "dq": dq}
    Path(out).write_bytes(pickle.dumps(result))


def semantics(target_json: str, out: str, cases: list[str]) -> None:
    """Each named test of test_semantics, with a run_journey that also requires DuckDB's rows."""
    import test_semantics
    from conftest import run_journey_on_duckdb, run_journey_on_engine
    from engines import drop_schema, normalized

    from clg_metrics.engines import connect

    engine = connect(target_of(target_json), Path.cwd())

    def run(journey, events, customers, as_of, survey=None):
        expected = run_journey_on_duckdb(journey, events, customers, as_of, survey=survey)
        actual = run_journey_on_engine(engine, journey, events, customers, as_of, survey=survey)
        for table in expected:
            assert normalized(actual[table]) == normalized(expected[table]), f"differs from DuckDB in {table}"
        return actual

    failures = {}
    try:
        for case in cases:
            try:
                getattr(test_semantics, case)(run)
            except Exception:
                failures[case] = traceback.format_exc(limit=-3)
    finally:
        drop_schema(engine)
    Path(out).write_bytes(pickle.dumps(failures))


def main(argv: list[str]) -> None:
    command, args = argv[0], argv[1:]
    if command == "cli":
        from clg_metrics.cli import entrypoint

        sys.argv = ["clg-metrics", *args]
        entrypoint()
    elif command == "outputs":
        outputs(*args)
    elif command == "semantics":
        semantics(args[0], args[1], args[2:])
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
