"""Table names clg-metrics owns: a seed or a ``sql/`` model may not take one.

A user's table with such a name would be replaced by the build (an output), never built (a
journey's ``progress__*`` model), or break publishing (``clg_state``, the staged twins). The rule
lives here alone; the output names come from the output registry (``compiler/outputs``), and ``tests/test_reserved.py`` checks that the prefixes the engines and the DAG use
are covered.
"""

from __future__ import annotations

from .checks.results import DQ_TABLE
from .compiler.outputs import OUTPUT_NAMES

# The published outputs: the output registry's tables and dq_results.
OUTPUT_TABLES: tuple[str, ...] = OUTPUT_NAMES + (DQ_TABLE,)
# The tool's own bookkeeping tables.
STATE_TABLES: tuple[str, ...] = ("clg_state", "clg_output_state", "clg_builds", "clg_check_state")
# name prefix -> what the tool uses such names for
RESERVED_PREFIXES: tuple[tuple[str, str], ...] = (
    ("progress__", "a journey's progress model (progress__<journey>)"),
    ("progress_leaves__", "a journey's leaf state (progress_leaves__<journey>)"),
    ("progress_periods__", "a journey's per-period leaf state (progress_periods__<journey>__<i>)"),
    ("__clg", "the tool's staged and temporary tables (e.g. __clg_next__<name>)"),
    ("clg_check_ids_", "the checks' per-customer event counts (clg_check_ids_<hash>)"),
)


def reserved_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a seed's or a model's table, or None when it is free."""
    lowered = name.lower()
    if lowered in OUTPUT_TABLES:
        return f"`{name}` is an output table of clg-metrics"
    if lowered in STATE_TABLES:
        return f"`{name}` is a table clg-metrics keeps its state in"
    for prefix, use in RESERVED_PREFIXES:
        if lowered.startswith(prefix):
            return f"`{name}` starts with `{prefix}`, which clg-metrics reserves for {use}"
    return None
