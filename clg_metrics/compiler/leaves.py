"""Leaf state: a journey's aggregates over the events, kept as tables that later builds merge into.

Nearly all of a build's work is reading the events into, per customer, the moments of the
journey's event leaves: the first n matching events of each condition, the first and latest
event, the segment leaves' counts and latest moments, and per ``per`` milestone the same within
each period. The progress query (``journey.py``) reads them from two kinds of tables, built before
it in the DAG:

- ``progress_leaves__<journey>``: one row per customer with events;
- ``progress_periods__<journey>__<i>``: one row per customer and period key of ``per`` milestone i.

Their columns are *mergeable state* (``StateColumn``): the first ``kept`` moments of a condition as
a sorted list (not only the n-th), and beside every count and latest moment its value over the
events at or before the build's cutoff (``as_of - lookback``). An incremental build then reads
only the events after the previous cutoff and merges them into the stored rows of the customers
they touch (``merged``), instead of reading those customers' whole history again; exact, because
the plan's fingerprint proves the events at or before that cutoff unchanged, and:

- the first n moments at or before a cutoff are the first n moments overall cut at it; the new
  events all come later, so the merge is the stored list cut at the cutoff, then the new list;
- a count is the stored count up to the cutoff plus the new events' count;
- the latest moment is the new events' latest, else the stored one up to the cutoff.

State with no such merge (a ``distinct`` leaf's first appearances, the k-th latest for k > 1)
makes a table ``mergeable`` False; its incremental builds recompute the touched customers' rows
from their whole history, as every build did before leaf state was kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlglot import exp

from .sqlfns import col, element, is_not_null, merge_smallest, smallest_values, timestamp

LEAVES_PREFIX = "progress_leaves__"
PERIODS_PREFIX = "progress_periods__"


def leaves_model_name(journey: str) -> str:
    """The table of a journey's per-customer leaf state."""
    return f"{LEAVES_PREFIX}{journey}"


def periods_model_name(journey: str, index: int) -> str:
    """The table of ``per`` milestone ``index``'s per-period leaf state."""
    return f"{PERIODS_PREFIX}{journey}__{index}"


def cut_column(name: str) -> str:
    """The companion of a count or latest-moment column: its value up to the build's cutoff."""
    return f"{name}__cut"


@dataclass
class StateColumn:
    """One column of leaf state and how a later build merges new events into it.

    ``merge``: ``smallest`` (a sorted list of up to ``kept`` moments), ``min`` (the first moment),
    ``sum`` (a count), ``latest`` (the latest moment, or its negated epoch: the stored value is
    replaced by the new one whenever there is one), or None (no merge: recomputed from the whole
    history). ``sum`` and ``latest`` carry ``cut``, the same aggregate over events at or before
    the cutoff, stored as ``cut_column(name)``.
    """

    name: str
    total: exp.Expr
    merge: str | None
    kept: int = 1
    cut: exp.Expr | None = None

    def selections(self) -> list[exp.Expr]:
        """The aggregate(s) over the events this column is built from."""
        out = [exp.alias_(self.total, self.name, quoted=True)]
        if self.cut is not None:
            out.append(exp.alias_(self.cut, cut_column(self.name), quoted=True))
        return out

    def names(self) -> list[str]:
        return [self.name] + ([cut_column(self.name)] if self.cut is not None else [])

    def merged(self, stored: str, new: str, since: datetime) -> list[exp.Expr]:
        """The merged column(s) from the stored row (alias ``stored``, cut at ``since``) and the
        new events' aggregate (alias ``new``, all after ``since``)."""
        old, fresh = col(self.name, stored), col(self.name, new)
        if self.merge == "smallest":
            values = [merge_smallest(old, fresh, since, self.kept)]
        elif self.merge == "min":
            kept_old = exp.Case(ifs=[exp.If(this=exp.LTE(this=old, expression=timestamp(since)), true=old.copy())])
            values = [exp.Coalesce(this=kept_old, expressions=[fresh])]
        elif self.merge == "sum":
            zero = exp.Literal.number(0)
            old_cut = exp.Coalesce(this=col(cut_column(self.name), stored), expressions=[zero])
            values = [exp.Add(this=old_cut, expression=exp.Coalesce(this=fresh, expressions=[zero.copy()])),
                      exp.Add(this=old_cut.copy(), expression=exp.Coalesce(
                          this=col(cut_column(self.name), new), expressions=[zero.copy()]))]
        elif self.merge == "latest":
            old_cut = col(cut_column(self.name), stored)
            values = [exp.Coalesce(this=fresh, expressions=[old_cut]),
                      exp.Coalesce(this=col(cut_column(self.name), new), expressions=[old_cut.copy()])]
        else:
            raise ValueError(f"leaf state column {self.name} has no merge")
        return [exp.alias_(v, n, quoted=True) for v, n in zip(values, self.names())]


def smallest_state(name: str, kept: int, predicate: exp.Expr | None) -> StateColumn:
    """The first ``kept`` matching moments: a list, or for ``kept`` 1 the first moment itself."""
    moment = col("occurred_at")
    if kept == 1:
        first: exp.Expr = exp.Min(this=moment)
        if predicate is not None:
            first = exp.Filter(this=first, expression=exp.Where(this=predicate))
        return StateColumn(name, first, "min")
    return StateColumn(name, smallest_values(moment, kept, predicate), "smallest", kept)


def smallest_value(state: StateColumn, n: int, table: str | None) -> exp.Expr:
    """The n-th matching moment from a ``smallest_state`` column."""
    if state.merge == "min":
        return col(state.name, table)
    return element(col(state.name, table), n)


def up_to(cutoff: datetime, predicate: exp.Expr | None = None) -> exp.Expr:
    """``predicate`` and the event at or before ``cutoff``: what a ``cut`` aggregate counts."""
    at_or_before = exp.LTE(this=col("occurred_at"), expression=timestamp(cutoff))
    return at_or_before if predicate is None else exp.and_(exp.Paren(this=predicate.copy()), at_or_before)


def with_cut(total: exp.Expr, cutoff: datetime) -> exp.Expr:
    """The same filtered aggregate over the events at or before ``cutoff`` only."""
    cut = total.copy()
    target = cut
    while isinstance(target, (exp.Neg, exp.Paren, exp.UnixMicros)):
        target = target.this
    if isinstance(target, exp.Filter):
        target.set("expression", exp.Where(this=up_to(cutoff, target.expression.this)))
        return cut
    filtered = exp.Filter(this=target.copy(), expression=exp.Where(this=up_to(cutoff)))
    if target is cut:
        return filtered
    target.replace(filtered)
    return cut


def mergeable(columns: list[StateColumn]) -> bool:
    return all(c.merge is not None for c in columns)


def merged_rows(columns: list[StateColumn], keys: list[str], stored: exp.Expr, new: exp.Expr,
                since: datetime) -> exp.Select:
    """The stored rows (``stored``, aliased ``s``) FULL JOIN the new events' aggregate (CTE
    ``new``, aliased ``n``) on ``keys``, every column merged; rows left with no state
    at all (their events after ``since`` are gone) are dropped, as a full build has no such row."""
    on = exp.and_(*[exp.EQ(this=col(k, "s"), expression=col(k, "n")) for k in keys])
    select = exp.select(*[exp.alias_(exp.Coalesce(this=col(k, "n"), expressions=[col(k, "s")]), k, quoted=True)
                          for k in keys])
    for column in columns:
        select = select.select(*column.merged("s", "n", since), copy=False)
    select = select.from_(stored, copy=False).join(new, on=on, join_type="FULL OUTER", copy=False)
    present = [c for c in columns if c.merge in ("smallest", "min")]
    if not present:
        return select
    any_state = exp.or_(*[is_not_null(col(c.name)) for c in present])
    return exp.select("*").from_(select.subquery("m"), copy=False).where(any_state, copy=False)
