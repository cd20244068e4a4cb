"""The ``dq_results`` table (SPEC §3): one row per check run, appended build after build."""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from ..compiler.sqlfns import rows_query

T = exp.DataType.Type
DQ_COLUMNS: tuple[tuple[str, T], ...] = (
    ("run_id", T.VARCHAR), ("checked_at", T.TIMESTAMP), ("check_name", T.VARCHAR), ("relation", T.VARCHAR),
    ("column_name", T.VARCHAR), ("severity", T.VARCHAR), ("status", T.VARCHAR), ("unexpected_count", T.BIGINT),
    ("sample", T.VARCHAR),
)
DQ_TABLE = "dq_results"


def dq_rows_query(run_id: str, checked_at: datetime, results, previous: str | None) -> exp.Query:
    """The new dq_results: the previous table's rows (if any) and one typed row per result."""
    kept = None
    if previous is not None:
        kept = exp.select(*[exp.column(name, quoted=True) for name, _ in DQ_COLUMNS]).from_(exp.to_table(previous))
    rows = [(run_id, checked_at, r.check.name, r.check.relation, r.check.column, r.check.severity, r.status,
             r.unexpected_count, r.sample) for r in results]
    return rows_query(DQ_COLUMNS, rows, kept)
