"""Segments (SPEC §4) in the compiler: their event leaves' state in the journey's one aggregate
over the events, and their predicates over the progress table.

A segment event leaf keeps, per customer, either its count of matching events (no ``in_last``) or
the k-th latest matching moments (``in_last``), as ``SegmentEvent.state`` describes; both are
fixed once the customer's events are, whatever ``as_of`` the outputs are computed for. The
predicates are then plain expressions over the progress row (``SegmentPredicates``), evaluated
by ``outputs/segment_members.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlglot import exp

from .. import filters
from ..conditions import SegmentEvent, walk
from ..spec import Journey
from .events import column_or_property, relation_table
from .leaves import StateColumn, with_cut
from .sqlfns import col, epoch_us, is_not_null, nth_smallest

@dataclass
class SegmentLeaf:
    alias: str  # g<segment index>_<path>
    condition: SegmentEvent


def segment_leaves(journey: Journey) -> list[SegmentLeaf]:
    """Every event leaf of every segment, named by its segment's position and its path."""
    return [SegmentLeaf(alias, node) for s, segment in enumerate(journey.segments, 1)
            for node, alias, _ in walk(segment.when, f"g{s}") if node.READS_EVENTS]


def state_column(alias: str, suffix: str) -> str:
    return f"{alias}_{suffix}"


def state_columns(journey: Journey) -> list[str]:
    """The progress table's columns that hold segment leaf state."""
    return [state_column(leaf.alias, suffix) for leaf in segment_leaves(journey) for suffix in leaf.condition.state()]


def _negated(moment: exp.Expr) -> exp.Expr:
    return exp.Neg(this=exp.Paren(this=epoch_us(moment)))


def _kth_latest(moment: exp.Expr, k: int, condition: exp.Expr | None) -> exp.Expr:
    """The k-th latest ``moment`` as negated epoch microseconds. For k = 1 the negation is taken
    of the group's ``max`` (once per customer) instead of every matching row's value: the same
    number, without converting a third of the events (measured on the benchmark's ``went_quiet``)."""
    if k == 1:
        latest: exp.Expr = exp.Max(this=moment)
        if condition is not None:
            latest = exp.Filter(this=latest, expression=exp.Where(this=condition))
        return _negated(latest)
    return nth_smallest(_negated(moment), k, condition)


def mergeable_state(leaf: SegmentLeaf, kind: str, k: int) -> bool:
    """Whether one state column of a segment leaf (``SegmentEvent.state``: kind, k) has a merge
    (``leaves.StateColumn``): a plain count, or the latest matching moment; not a count of
    distinct values, nor the k-th latest for k > 1."""
    if leaf.condition.distinct is not None:
        return False
    return kind == "count" or k == 1


def leaf_state(leaf: SegmentLeaf, predicate: exp.Expr, value: exp.Expr | None,
               add_cte: Callable[[str, exp.Query], Any], cte_table: Callable[..., exp.Expr],
               cutoff: datetime | None = None) -> tuple[list[StateColumn], list[tuple[str, str]]]:
    """(state columns aggregated over the staged events by customer, [(two-step CTE, column)]).

    ``value`` is the ``distinct`` column's staged expression (None without ``distinct``). A
    ``distinct`` leaf with ``in_last`` first reduces to each value's latest appearance, like the
    milestone leaves reduce to the first. With ``cutoff`` the counts and latest moments also keep
    their value up to it, so that a later build can merge new events into them (``leaves.py``);
    distinct counts and the k-th latest for k > 1 have no such merge.
    """
    direct: list[StateColumn] = []
    two_step: list[tuple[str, str]] = []
    for suffix, (kind, k) in leaf.condition.state().items():
        name = state_column(leaf.alias, suffix)
        if kind == "count":
            counted: exp.Expr = exp.Count(this=exp.Star()) if value is None else \
                exp.Count(this=exp.Distinct(expressions=[value.copy()]))
            total = exp.Filter(this=counted, expression=exp.Where(this=predicate.copy()))
            mergeable = mergeable_state(leaf, kind, k) and cutoff is not None
            direct.append(StateColumn(name, total, "sum" if mergeable else None,
                                      cut=with_cut(total, cutoff) if mergeable else None))
        elif value is None:
            total = _kth_latest(col("occurred_at"), k, predicate.copy())
            mergeable = mergeable_state(leaf, kind, k) and cutoff is not None
            direct.append(StateColumn(name, total, "latest" if mergeable else None,
                                      cut=with_cut(total, cutoff) if mergeable else None))
        else:
            latest = f"gl_{name}"
            add_cte(latest, exp.select(col("customer_id"), exp.alias_(exp.Max(this=col("occurred_at")), "last_at",
                                                                      quoted=True))
                    .from_(cte_table("ev"), copy=False)
                    .where(exp.and_(predicate.copy(), is_not_null(value)), copy=False)
                    .group_by(col("customer_id"), value.copy(), copy=False))
            add_cte(f"gn_{name}", exp.select(col("customer_id"), exp.alias_(
                _kth_latest(col("last_at"), k, None), name, quoted=True))
                .from_(cte_table(latest), copy=False).group_by(col("customer_id"), copy=False))
            two_step.append((f"gn_{name}", name))
    return direct, two_step


class SegmentPredicates:
    """``conditions.SegmentContext`` over one journey's progress table (alias ``table``)."""

    def __init__(self, journey: Journey, table: str, as_of: datetime, customer_columns: list[str] | None,
                 sql_dialect: str = "duckdb"):
        from .progress import status_expr  # progress.py imports this module

        self.journey, self.table, self.as_of = journey, table, as_of
        self.customer_columns, self.sql_dialect = customer_columns, sql_dialect
        self.index = {m.milestone: i for i, (_, m) in enumerate(journey.milestones, 1)}
        self._status = status_expr

    def state(self, alias: str, suffix: str) -> exp.Expr:
        return col(state_column(alias, suffix), self.table)

    def status(self, milestone: str) -> exp.Expr:
        return self._status(self.journey, self.index[milestone], self.as_of, self.table)

    def signed_up_at(self) -> exp.Expr:
        return col("signed_up_at", self.table)

    def customer_matches(self, customer_filter: str | dict[str, Any]) -> exp.Expr:
        """``customer_id IN (ids of the customers rows that match)``: any matching row will do."""
        source = self.journey.customers
        cid = col(source.columns.customer_id)
        if isinstance(customer_filter, dict):
            where = filters.build_mapping_filter(customer_filter, self._resolve)
        else:
            where = filters.parse_sql_filter(customer_filter, self.sql_dialect)
            for column in list(where.find_all(exp.Column)):
                column.replace(self._resolve(column.name))
        ids = (exp.select(cid).from_(relation_table(source.from_), copy=False)
               .where(exp.and_(is_not_null(cid), exp.Paren(this=where)), copy=False))
        return col("customer_id", self.table).isin(query=ids)

    def _resolve(self, key: str, sample: Any = None) -> exp.Expr:
        return column_or_property(self.journey.customers.from_, self.customer_columns, key, sample)

    def member(self, segment_index: int) -> exp.Expr:
        segment = self.journey.segments[segment_index - 1]
        return segment.when.predicate(self, f"g{segment_index}")
