"""The per-customer queries behind ``clg-metrics explain``, compiled from the journey's own trees.

Nothing here decides a milestone: status and ``reached_at`` come from the published tables. What
these queries add are the *figures* (counts, n-th moments, qualifying periods and runs) that
explain them, and they are built from the very pieces the compiler uses, so they cannot drift
from it: the staged events of ``EventSource.staging_query`` (filtered to the one customer), each
leaf's ``event_predicate``, ``nth_smallest`` for the n-th moment, each kind's ``moment`` for
``all``/``any``, ``period_key`` for periods, ``leaf_state`` and each segment kind's ``predicate``
for segments. Published values (``reached_at``, ``signed_up_at``) enter as literals.

Column names: a node's path alias (``l3_0``, as the compiler names leaves) gives ``n_<alias>``
(a leaf's count), ``<alias>`` (a leaf's n-th moment), ``h_<alias>`` (the moment the node holds
from); segment nodes ``t_<alias>`` (true/false) and ``n_<alias>`` (an event leaf's count).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlglot import exp

from ..compiler.events import EventSource
from ..compiler.journey import cte_name, cte_table, reached_column
from ..compiler.segments import SegmentLeaf, SegmentPredicates, leaf_state
from ..compiler.sqlfns import col, is_not_null, nth_smallest, period_key, timestamp
from ..conditions import walk
from ..filters import literal
from ..spec import Journey

T = exp.DataType.Type


@dataclass
class Known:
    """The published values of one customer that the queries take as literals."""

    customer_id: object  # typed as in the published tables
    signed_up_at: datetime | None
    reached: dict[int, datetime | None]  # milestone index -> published reached_at


def _ts(value: datetime | None) -> exp.Expr:
    return timestamp(value) if value is not None else exp.cast(exp.null(), T.TIMESTAMP)


def _alias(expr: exp.Expr, name: str) -> exp.Expr:
    return exp.alias_(expr, name, quoted=True)


class _Moments:
    """``conditions.MomentContext`` over the explain row: leaves are columns, milestones literals."""

    def __init__(self, known: Known, index: dict[str, int], table: str | None = None):
        self.known, self.index, self.table = known, index, table

    def leaf(self, alias: str) -> exp.Expr:
        return col(alias, self.table)

    def reached_at(self, milestone: str) -> exp.Expr:
        return col(reached_column(self.index[milestone]), self.table)


class ExplainQueries:
    """Builds the queries for one customer of one journey (pure: no connection, no dialect)."""

    def __init__(self, journey: Journey, source: EventSource, as_of: datetime, known: Known,
                 customer_columns: list[str] | None, sql_dialect: str = "duckdb"):
        self.journey, self.source, self.as_of, self.known = journey, source, as_of, known
        self.customer_columns, self.sql_dialect = customer_columns, sql_dialect
        self.milestones = [m for _, m in journey.milestones]
        self.index = {m.milestone: i for i, m in enumerate(self.milestones, 1)}
        # every leaf predicate registers the source columns it reads before the staging query
        for node, _, _ in self._all_nodes():
            if node.READS_EVENTS:
                node.event_predicate(source, sql_dialect)
                if node.distinct:
                    source.resolve(node.distinct)

    def _all_nodes(self):
        for i, m in enumerate(self.milestones, 1):
            yield from walk(m.reached_when, f"l{i}")
        for s, segment in enumerate(self.journey.segments, 1):
            yield from walk(segment.when, f"g{s}")

    def leaves(self, i: int) -> list[tuple[str, object]]:
        return [(alias, node) for node, alias, _ in walk(self.milestones[i - 1].reached_when, f"l{i}")
                if node.READS_EVENTS]

    def _staged(self) -> exp.Select:
        """The compiler's staged events, the one customer's only."""
        staged = self.source.staging_query(self.as_of)
        mine = exp.EQ(this=col(self.source.mapping.customer_id), expression=literal(self.known.customer_id))
        return staged.where(mine, copy=False)

    def _leaf_figures(self, alias: str, leaf, keys: list[str], ctes: list) -> tuple[list[exp.Expr], exp.Select | None]:
        """(count and n-th moment aggregates over ``ev``, or for ``distinct`` a query by ``keys``
        giving the n-th first appearance, to be joined)."""
        predicate = leaf.event_predicate(self.source, self.sql_dialect)
        if leaf.distinct is None:
            return [_alias(exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=predicate)), f"n_{alias}"),
                    _alias(nth_smallest(col("occurred_at"), leaf.at_least, predicate.copy()), alias)], None
        value = self.source.resolve(leaf.distinct)
        counted = exp.Count(this=exp.Distinct(expressions=[value.copy()]))
        count = _alias(exp.Filter(this=counted, expression=exp.Where(this=predicate.copy())), f"n_{alias}")
        group = [col(k) for k in keys]
        firsts = (exp.select(*group, _alias(exp.Min(this=col("occurred_at")), "first_at"))
                  .from_(cte_table("ev"), copy=False).where(exp.and_(predicate, is_not_null(value)), copy=False)
                  .group_by(*[g.copy() for g in group], value.copy(), copy=False))
        ctes.append((f"dv_{alias}", firsts))
        nth = exp.select(*[g.copy() for g in group], _alias(nth_smallest(col("first_at"), leaf.at_least, None), alias)) \
            .from_(cte_table(f"dv_{alias}"), copy=False)
        if group:
            nth = nth.group_by(*[g.copy() for g in group], copy=False)
        return [count], nth

    def _with(self, select: exp.Select, ctes: list) -> exp.Select:
        for name, query in ctes:
            select = select.with_(cte_name(name), as_=query, copy=False)
        return select

    # -- the cumulative milestones and the segments: one row -------------------------------------------
    def summary(self) -> exp.Select:
        """One row: every cumulative leaf's count and moment, every node's ``h_``, every segment node's
        truth value and every segment event leaf's count."""
        ctes: list = [("ev", self._staged())]
        known = self.known
        inner = exp.select(_alias(literal(known.customer_id), "customer_id"), _alias(_ts(known.signed_up_at), "signed_up_at"),
                           *[_alias(_ts(known.reached.get(i)), reached_column(i)) for i in self.index.values()],
                           _alias(exp.Count(this=exp.Star()), "n_events"))  # an aggregate: always one row
        joins: list[tuple[str, exp.Select, bool]] = []  # (name, query, keyed by customer)
        moments: list[exp.Expr] = []
        ctx = _Moments(known, self.index, "y")
        for i, milestone in enumerate(self.milestones, 1):
            if milestone.effective_per is not None:
                continue
            for alias, leaf in self.leaves(i):
                direct, nth = self._leaf_figures(alias, leaf, [], ctes)
                inner = inner.select(*direct, copy=False)
                if nth is not None:
                    joins.append((f"dn_{alias}", nth, False))
            for node, alias, _ in walk(milestone.reached_when, f"l{i}"):
                moments.append(_alias(node.moment(ctx, alias), f"h_{alias}"))
        truths: list[exp.Expr] = []
        predicates = SegmentPredicates(self.journey, "y", self.as_of, self.customer_columns, self.sql_dialect)
        for s, segment in enumerate(self.journey.segments, 1):
            for node, alias, _ in walk(segment.when, f"g{s}"):
                if node.READS_EVENTS:
                    inner = inner.select(*self._segment_leaf(alias, node, ctes, joins), copy=False)
                truths.append(_alias(node.predicate(predicates, alias), f"t_{alias}"))
        inner = inner.from_(cte_table("ev"), copy=False)
        y = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("x"))).from_(inner.subquery("x"), copy=False)
        for name, query, keyed in joins:
            y = y.select(*[_alias(col(c, name), c) for c in query.named_selects if c != "customer_id"], copy=False)
            on = exp.EQ(this=col("customer_id", "x"), expression=col("customer_id", name)) if keyed else exp.true()
            y = y.join(query.subquery(name), on=on, join_type="LEFT", copy=False)
        outer = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("y")), *moments, *truths) \
            .from_(y.subquery("y"), copy=False)
        return self._with(outer, ctes)

    def _segment_leaf(self, alias: str, node, ctes: list, joins: list) -> list[exp.Expr]:
        """A segment event leaf: the compiler's state columns (for its predicate) and its count."""
        predicate = node.event_predicate(self.source, self.sql_dialect)
        value = self.source.resolve(node.distinct) if node.distinct else None
        direct, two_step = leaf_state(SegmentLeaf(alias, node), predicate, value,
                                      lambda name, query: ctes.append((name, query)), cte_table)
        for name, column in two_step:
            joins.append((name, exp.select(col("customer_id"), col(column)).from_(cte_table(name)), True))
        counted = predicate.copy()
        if node.in_last is not None:  # counted: strictly after as_of - D (SPEC §4)
            since = self.as_of - timedelta(microseconds=node.in_last.microseconds)
            counted = exp.and_(counted, exp.GT(this=col("occurred_at"), expression=timestamp(since)))
        count: exp.Expr = exp.Count(this=exp.Star()) if value is None else exp.Count(this=exp.Distinct(expressions=[value.copy()]))
        return [s for column in direct for s in column.selections()] + [
            _alias(exp.Filter(this=count, expression=exp.Where(this=counted)), f"n_{alias}")]

    # -- a `per` milestone: one row per period with a matching event ------------------------------------
    def periods(self, i: int) -> exp.Select:
        """Per calendar period of milestone ``i``'s ``per`` (with a matching event): the period key
        ``p``, each leaf's count and moment within it, each node's ``h_``, and for the periods in which
        the condition held, ``run``: their position in a run of consecutive such periods. ``p_now``
        is the key of the period holding as_of, ``p_gate`` that of the previous milestone's reached_at
        (under sequential)."""
        milestone = self.milestones[i - 1]
        grain = milestone.effective_per
        leaves = self.leaves(i)
        predicates = [leaf.event_predicate(self.source, self.sql_dialect) for _, leaf in leaves]
        relevant = exp.select(exp.Star(), _alias(period_key(col("occurred_at"), grain), "p")).from_(
            exp.alias_(exp.to_table(cte_name("ev_all")), "ev"), copy=False).where(
            exp.or_(*predicates) if len(predicates) > 1 else predicates[0], copy=False)
        ctes: list = [("ev_all", self._staged()), ("ev", relevant)]
        agg = exp.select(col("p"))
        joins = []
        for alias, leaf in leaves:
            direct, nth = self._leaf_figures(alias, leaf, ["p"], ctes)
            agg = agg.select(*direct, copy=False)
            if nth is not None:
                joins.append((f"dn_{alias}", nth))
        ctes.append(("pa", agg.from_(cte_table("ev"), copy=False).group_by(col("p"), copy=False)))
        y = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("pa"))).from_(cte_table("pa"), copy=False)
        for name, query in joins:
            y = y.select(*[col(c, name) for c in query.named_selects if c != "p"], copy=False)
            y = y.join(query.subquery(name), on=exp.EQ(this=col("p", "pa"), expression=col("p", name)),
                       join_type="LEFT", copy=False)
        ctx = _Moments(self.known, self.index, "y")
        moments = [_alias(node.moment(ctx, alias), f"h_{alias}") for node, alias, _ in walk(milestone.reached_when, f"l{i}")]
        ctes.append(("pw", exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("y")), *moments)
                     .from_(y.subquery("y"), copy=False)))
        by_p = exp.Order(expressions=[exp.Ordered(this=col("p"))])
        island = exp.Sub(this=col("p"), expression=exp.Window(this=exp.RowNumber(), order=by_p))
        ctes.append(("pq", exp.select(col("p"), _alias(island, "island")).from_(cte_table("pw"), copy=False)
                     .where(is_not_null(col(f"h_l{i}")), copy=False)))
        run = exp.Window(this=exp.RowNumber(), partition_by=[col("island")], order=by_p.copy())
        ctes.append(("pr", exp.select(col("p"), _alias(run, "run")).from_(cte_table("pq"), copy=False)))
        previous = self.known.reached.get(i - 1) if self.journey.order == "sequential" and i > 1 else None
        gate = period_key(timestamp(previous), grain) if previous is not None else exp.cast(exp.null(), T.BIGINT)
        final = (exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("pw")), col("run", "pr"),
                            _alias(period_key(timestamp(self.as_of), grain), "p_now"), _alias(gate, "p_gate"))
                 .from_(cte_table("pw"), copy=False)
                 .join(cte_table("pr"), on=exp.EQ(this=col("p", "pw"), expression=col("p", "pr")), join_type="LEFT", copy=False)
                 .order_by(col("p", "pw"), copy=False))
        return self._with(final, ctes)
