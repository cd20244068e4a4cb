"""The ``clg_builds`` table: which build the published outputs come from, readable by BI.

One row per publish (a build, a failed build whose check results were recorded, a ``test`` run),
appended build after build like ``dq_results``, and published in the same transaction (on DuckDB:
the same serving file) as the outputs. Exactly one row has ``is_current``: the build whose
outputs are published now, so a dashboard reads ``SELECT build_id, as_of FROM clg_builds WHERE
is_current`` next to its tables and knows which build it shows. The outputs keep the SPEC's
columns exactly; the build id lives here, not in a column of theirs.
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from .compiler.sqlfns import rows_query

T = exp.DataType.Type
BUILDS_TABLE = "clg_builds"
BUILDS_COLUMNS: tuple[tuple[str, T], ...] = (
    ("build_id", T.VARCHAR), ("command", T.VARCHAR), ("status", T.VARCHAR), ("as_of", T.TIMESTAMP),
    ("started_at", T.TIMESTAMP), ("finished_at", T.TIMESTAMP), ("is_current", T.BOOLEAN),
)


def builds_query(build_id: str, command: str, status: str, as_of: datetime, started_at: datetime,
                 finished_at: datetime, previous: str | None) -> exp.Query:
    """The new clg_builds: the previous rows and this run's. A successful build becomes the current
    one (the previous rows lose ``is_current``); any other run leaves the current build as it was."""
    current = command == "build" and status == "success"
    kept = None
    if previous is not None:
        columns = [exp.column(name, quoted=True) for name, _ in BUILDS_COLUMNS[:-1]]
        flag = exp.false() if current else exp.column("is_current", quoted=True)
        kept = exp.select(*columns, exp.alias_(flag, "is_current", quoted=True)).from_(exp.to_table(previous))
    row = (build_id, command, status, as_of, started_at, finished_at, current)
    return rows_query(BUILDS_COLUMNS, [row], kept)
