"""The ``dq_results`` table (SPEC §3): one row per check run, appended build after build."""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from ..filters import literal

T = exp.DataType.Type
DQ_COLUMNS: tuple[tuple[str, T], ...] = (
    ("run_id", T.VARCHAR), ("checked_at", T.TIMESTAMP), ("check_name", T.VARCHAR), ("relation", T.VARCHAR),
    ("column_name", T.VARCHAR), ("severity", T.VARCHAR), ("status", T.VARCHAR), ("unexpected_count", T.BIGINT),
    ("sample", T.VARCHAR),
)
DQ_TABLE = "dq_results"


def dq_rows_query(run_id: str, checked_at: datetime, results, previous: str | None) -> exp.Query:
    """The new dq_results: the previous table's rows (if any) and one typed row per result."""
    def typed(value, kind):
        if isinstance(value, datetime):
            value = value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return exp.cast(literal(value), kind)

    selects: list[exp.Query] = []
    if previous is not None:
        selects.append(exp.select(*[exp.column(name, quoted=True) for name, _ in DQ_COLUMNS]).from_(exp.to_table(previous)))
    for r in results:
        values = (run_id, checked_at, r.check.name, r.check.relation, r.check.column, r.check.severity, r.status,
                  r.unexpected_count, r.sample)
        selects.append(exp.select(*[exp.alias_(typed(v, kind), name, quoted=True)
                                    for v, (name, kind) in zip(values, DQ_COLUMNS)]))
    if not selects:
        return exp.select(*[exp.alias_(exp.cast(exp.null(), kind), name, quoted=True)
                            for name, kind in DQ_COLUMNS]).where(exp.false())
    query = selects[0]
    for select in selects[1:]:
        query = exp.union(query, select, distinct=False)
    return query
