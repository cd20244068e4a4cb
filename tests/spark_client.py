"""What tests/test_spark_cluster.py runs in a subprocess against a Spark cluster or Connect server.

A process of its own because the pytest process may already hold a local SparkContext (one per
JVM, and pyspark cannot add a Connect session beside it), and because the engine reuses a
session active in its process: only a fresh process starts one from the target as a user's would.

    python tests/spark_client.py cli ARGS...                      the CLI (``clg-metrics ARGS...``)
    python tests/spark_client.py read TARGET PROJECT OUT CASE...  after a build: what the tests check

TARGET is a SparkTarget as JSON; OUT a pickle file the test reads back (rows keep their Python
types: datetimes, Decimals). Reading and the semantic cases share one process: on a cluster each
process costs a driver and an executor JVM. Cases report failures in OUT rather than stopping.
"""

from __future__ import annotations

import pickle
import sys
import traceback
from pathlib import Path


def target_of(text: str):
    from clg_metrics.profiles import SparkTarget

    return SparkTarget.model_validate_json(text)


def read(target_json: str, project: str, out: str, cases: list[str]) -> None:
    """In this later process: ``show funnel``, every output table, the first build's check
    outcomes, and the named test_semantics cases with a run_journey that requires DuckDB's rows."""
    from click.testing import CliRunner

    from clg_metrics.cli import main
    from clg_metrics.engines import connect
    from engines import DQ_QUERY, OUTPUTS, rows

    engine = connect(target_of(target_json), Path(project))  # (the CLI's engine reuses this session)
    try:
        spark = engine.spark
        result = {"session": (type(spark).__module__, None if engine.target.remote else spark.sparkContext.master)}
        show = CliRunner().invoke(main, ["show", "funnel", "--target", "wh", "--project-dir", project])
        result["show"] = (show.exit_code, show.output)
        result["tables"] = {t: rows(*engine.fetch(f"SELECT * FROM {engine.quote(t)}")) for t in OUTPUTS}
        result["dq"] = [tuple(r) for r in engine.fetch(DQ_QUERY.replace('"dq_results"', engine.quote("dq_results")))[1]]
        result["failures"] = semantic_failures(engine, cases)
    finally:
        engine.close()
    Path(out).write_bytes(pickle.dumps(result))


def semantic_failures(engine, cases: list[str]) -> dict[str, str]:
    """{case: traceback} of the test_semantics cases that fail on this engine (or differ from DuckDB)."""
    import test_semantics
    from conftest import run_journey_on_duckdb, run_journey_on_engine
    from engines import normalized

    def run(journey, events, customers, as_of, survey=None):
        expected = run_journey_on_duckdb(journey, events, customers, as_of, survey=survey)
        actual = run_journey_on_engine(engine, journey, events, customers, as_of, survey=survey)
        for table in expected:
            assert normalized(actual[table]) == normalized(expected[table]), f"differs from DuckDB in {table}"
        return actual

    failures = {}
    for case in cases:
        try:
            getattr(test_semantics, case)(run)
        except Exception:
            failures[case] = traceback.format_exc(limit=-3)
    return failures


def main(argv: list[str]) -> None:
    command, args = argv[0], argv[1:]
    if command == "cli":
        from clg_metrics.cli import entrypoint

        sys.argv = ["clg-metrics", *args]
        entrypoint()
    elif command == "read":
        read(args[0], args[1], args[2], args[3:])
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
