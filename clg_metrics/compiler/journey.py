"""A journey as one SELECT: every customer's ``reached_at`` and status for every milestone.

The query, one row per customer (the journey's "progress" model), is built in stages:

1. ``ev``: the staged events (``events.py``).
2. ``agg``: one hash aggregate over ``ev`` by customer that gives, for every cumulative event
   leaf, the time of its n-th matching event (``min(ts, n)`` top-n, so one pass serves every
   leaf); ``distinct`` leaves first reduce to each value's first appearance.
3. for every ``per`` milestone, an aggregate by customer and period key giving the moment the
   inner condition became true within each period, then the periods that end a streak.
4. ``s0``: all customers (events ∪ customers source) with their signup and leaf moments, then one
   stage per milestone, in dependency order, that adds ``r_<i>`` (its final ``reached_at``).

SPEC's moments reduce to simple algebra: a cumulative condition holds from one moment on (its
n-th event, ``all`` = the latest child, ``any`` = the earliest); under ``sequential`` the
milestone's moment is the later of its own and the previous ``reached_at``; a ``per`` condition
holds on [moment within period p, end of p) for the periods p that end a streak, so the earliest
moment at or after a previous ``reached_at`` r is min over those p with key(p) >= key(r) of
greatest(moment_p, r).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlglot import exp

from ..conditions import EventCondition, walk
from ..spec import Journey
from .events import EventSource, relation_table
from .progress import EVENT_SPAN, anchor_expr, periods_column, progress_columns, reached_column  # noqa: F401
from .segments import leaf_state, segment_leaves
from .sqlfns import all_of, col, customer_bucket, interval, is_not_null, nth_smallest, parse_timestamp, period_key, timestamp


@dataclass(frozen=True)
class Incremental:
    """Recompute only the customers touched since ``since``, keep the others from ``previous``.

    ``previous`` is the published progress table (schema-qualified, so that the build's renaming
    of project tables to their staged twins leaves it alone). The runner guarantees that events
    at or before ``since`` are unchanged since that table was built (an event fingerprint).
    """

    previous: str
    since: datetime


@dataclass(frozen=True)
class Pass:
    """One of ``of`` passes that together build the progress table: the customers in bucket
    ``index`` (``sqlfns.customer_bucket``). Every relation of the query is per customer, so each
    pass gives exactly its customers' rows, and the engine holds one pass's aggregate state at a
    time (DuckDB cannot spill the top-n states, see ``phases/plan.py``)."""

    index: int
    of: int
    integer_ids: bool = False  # every source stores the id as an integer type (sqlfns.customer_bucket)


@dataclass
class _Leaf:
    alias: str
    condition: EventCondition


# The compiler's own relations carry a prefix that user relations may not (the loader reserves it),
# so that a seed or model named `ev` or `agg` is never shadowed by a CTE of the same name.
CTE_PREFIX = "__clg_"
INLINED_CTES = ("ev", "ev_all", "cust", "cust_all")


def cte_name(name: str) -> str:
    """The name a compiler CTE is defined under."""
    return f"{CTE_PREFIX}{name}"


def cte_table(name: str, alias: str | None = None) -> exp.Expr:
    """A reference to one of the compiler's CTEs, aliased by its short name (or ``alias``)."""
    return exp.alias_(exp.to_table(cte_name(name)), alias or name)


def cte_ids(name: str) -> exp.Select:
    """``SELECT customer_id FROM <cte>``, for ``IN (...)`` tests."""
    return exp.select(col("customer_id")).from_(cte_table(name), copy=False)


@dataclass
class _Moments:
    """The compiler's side of ``conditions.MomentContext``: leaf and milestone columns of one table."""

    index: dict[str, int]
    table: str | None

    def leaf(self, alias: str) -> exp.Expr:
        return col(alias, self.table)

    def reached_at(self, milestone: str) -> exp.Expr:
        return col(reached_column(self.index[milestone]), self.table)


class JourneyCompiler:
    """Builds the progress query of one journey; pure (no connection), dialect-free."""

    def __init__(self, journey: Journey, events: EventSource, as_of: datetime, sql_dialect: str = "duckdb",
                 incremental: Incremental | None = None, part: Pass | None = None):
        self.incremental = incremental
        self.part = part
        self.journey = journey
        self.events = events
        self.as_of = as_of
        self.sql_dialect = sql_dialect  # what `where` strings are written in (the project's), not the target
        self.ctes: list[tuple[str, exp.Expr]] = []
        self.milestones = [m for _, m in journey.milestones]
        self.index = {m.milestone: i + 1 for i, m in enumerate(self.milestones)}

    # -- conditions -------------------------------------------------------------------------
    def _leaves(self, condition, prefix: str) -> list[_Leaf]:
        """Every event leaf of a condition tree, each with a unique column alias (its path)."""
        return [_Leaf(alias, node) for node, alias, _ in walk(condition, prefix) if node.READS_EVENTS]

    def _moment(self, condition, prefix: str, table: str | None) -> exp.Expr:
        """The moment from which a (period-local or cumulative) condition holds, as an expression."""
        return condition.moment(_Moments(self.index, table), prefix)

    def _predicate(self, leaf: _Leaf) -> exp.Expr:
        return leaf.condition.event_predicate(self.events, self.sql_dialect)

    def _leaf_aggregates(self, leaves: list[_Leaf], source: str, keys: list[exp.Expr],
                         key_names: list[str]) -> tuple[exp.Select, list[tuple[str, exp.Select]]]:
        """One aggregate over ``source`` for the plain leaves; per ``distinct`` leaf a two-step one."""
        plain = [leaf for leaf in leaves if leaf.condition.distinct is None]
        predicates = {leaf.alias: self._predicate(leaf) for leaf in plain}
        kept: dict[exp.Expr, int] = {}  # per condition, the largest n asked of it: one top-n state serves all
        for leaf in plain:
            kept[predicates[leaf.alias]] = max(kept.get(predicates[leaf.alias], 1), leaf.condition.at_least)
        select = exp.select(*[exp.alias_(k, n, quoted=True) for k, n in zip(keys, key_names)])
        for leaf in plain:
            predicate = predicates[leaf.alias]
            nth = nth_smallest(col("occurred_at"), leaf.condition.at_least, predicate, kept[predicate])
            select = select.select(exp.alias_(nth, leaf.alias, quoted=True), copy=False)
        select = select.from_(cte_table(source), copy=False).group_by(*[k.copy() for k in keys], copy=False)
        distinct_queries = []
        for leaf in leaves:
            if leaf.condition.distinct is None:
                continue
            value = self.events.resolve(leaf.condition.distinct)
            predicate = exp.and_(self._predicate(leaf), is_not_null(value))
            firsts = (exp.select(*[exp.alias_(k.copy(), n, quoted=True) for k, n in zip(keys, key_names)],
                                 exp.alias_(exp.Min(this=col("occurred_at")), "first_at", quoted=True))
                      .from_(cte_table(source), copy=False).where(predicate, copy=False).group_by(*[k.copy() for k in keys], value.copy(), copy=False))
            name = f"dv_{leaf.alias}"
            self.ctes.append((name, firsts))
            nth = (exp.select(*[col(n) for n in key_names],
                              exp.alias_(nth_smallest(col("first_at"), leaf.condition.at_least, None),
                                         leaf.alias, quoted=True))
                   .from_(cte_table(name), copy=False).group_by(*[col(n) for n in key_names], copy=False))
            distinct_queries.append((f"dn_{leaf.alias}", nth))
        return select, distinct_queries

    # -- the query --------------------------------------------------------------------------
    def compile(self) -> exp.Select:
        """The progress query: customer_id, signed_up_at, r_1..r_K (reached_at of each milestone)."""
        self.ctes = []
        cumulative = [leaf for i, m in enumerate(self.milestones, 1) if m.effective_per is None
                      for leaf in self._leaves(m.reached_when, f"l{i}")]
        periodic = {i: self._leaves(m.reached_when, f"l{i}") for i, m in enumerate(self.milestones, 1)
                    if m.effective_per is not None}
        segment = segment_leaves(self.journey)
        # Leaf predicates register the source columns they use; build them before the staging query.
        for leaf in cumulative + [leaf for leaves in periodic.values() for leaf in leaves] + segment:
            self._predicate(leaf)
            if leaf.condition.distinct:
                self.events.resolve(leaf.condition.distinct)
        self.ctes.append(("ev", self._in_part(self.events.staging_query(self.as_of), self.events.mapping.customer_id)))
        if self.journey.customers is not None:
            self.ctes.append(("cust", self._in_part(self._customers_query(), self.journey.customers.columns.customer_id)))
        if self.incremental is not None:
            self._restrict_to_affected()

        agg, distinct = self._leaf_aggregates(cumulative, "ev", [col("customer_id")], ["customer_id"])
        agg = agg.select(exp.alias_(exp.Min(this=col("occurred_at")), EVENT_SPAN[0], quoted=True),
                         exp.alias_(exp.Max(this=col("occurred_at")), EVENT_SPAN[1], quoted=True), copy=False)
        state_from: list[tuple[str, str]] = []  # (relation, column) of every segment state column
        for leaf in segment:
            value = self.events.resolve(leaf.condition.distinct) if leaf.condition.distinct else None
            direct, two_step = leaf_state(leaf, self._predicate(leaf), value,
                                          lambda name, query: self.ctes.append((name, query)), cte_table)
            agg = agg.select(*direct, copy=False)
            state_from += [("agg", d.alias) for d in direct] + two_step
        self.ctes.append(("agg", agg))
        self.ctes.extend(distinct)

        base = exp.select(exp.alias_(self._customer_id(), "customer_id", quoted=True),
                          exp.alias_(self._signed_up_at(), "signed_up_at", quoted=True))
        base = base.select(*[col(leaf.alias, "agg") for leaf in cumulative if leaf.condition.distinct is None], copy=False)
        base = base.select(*[col(leaf.alias, f"dn_{leaf.alias}") for leaf in cumulative if leaf.condition.distinct], copy=False)
        base = base.select(*[col(c, "agg") for c in EVENT_SPAN], *[col(c, t) for t, c in state_from], copy=False)
        base = base.from_(cte_table("agg"), copy=False)
        if self.journey.customers is not None:
            base = base.join(cte_table("cust"), on=exp.EQ(this=col("customer_id", "agg"), expression=col("customer_id", "cust")),
                             join_type="FULL OUTER", copy=False)
        joined = [f"dn_{leaf.alias}" for leaf in cumulative if leaf.condition.distinct]
        for name in joined + [t for t, _ in state_from if t != "agg"]:
            base = base.join(cte_table(name), on=exp.EQ(this=col("customer_id", "agg"), expression=col("customer_id", name)),
                             join_type="LEFT", copy=False)
        self.ctes.append(("s0", base))

        for i, leaves in periodic.items():
            self._periods(i, leaves)
        stage = "s0"
        for name in self.journey.evaluation_order():
            stage = self._milestone_stage(self.index[name], stage)

        if periodic:
            stage = self._with_period_lists(stage, list(periodic))
        columns = progress_columns(self.journey)
        final = exp.select(*[col(c) for c in columns]).from_(cte_table(stage), copy=False)
        if self.incremental is not None:
            kept = exp.select(*[col(c) for c in columns]).from_(self._previous_rows(), copy=False).where(
                exp.Not(this=col("customer_id").isin(query=cte_ids("affected"))), copy=False)
            final = exp.union(final, kept, distinct=False)
        for name, query in self.ctes:
            # The staged events are read by several aggregates: DuckDB would materialize a CTE used
            # more than once (a copy of every event); inlined, each aggregate scans the source.
            inline = name in INLINED_CTES or name.startswith("pe_")
            final = final.with_(cte_name(name), as_=query, materialized=False if inline else None, copy=False)
        return final

    def _restrict_to_affected(self) -> None:
        """Incremental: ``affected`` customers, and ``ev``/``cust`` narrowed to their full history.

        Affected are the customers with an event after ``since`` (up to as_of) and those whose
        signup differs from the previous build's, including customers that left the source.
        """
        since = timestamp(self.incremental.since)
        recent = exp.select(col("customer_id")).from_(cte_table("ev_all"), copy=False).where(
            exp.GT(this=col("occurred_at"), expression=since), copy=False)
        affected: exp.Query = recent
        if self.journey.customers is not None:
            previous = self._previous_rows("p")
            changed = (exp.select(exp.alias_(exp.Coalesce(this=col("customer_id", "p"),
                                                          expressions=[col("customer_id", "c")]), "customer_id"))
                       .from_(previous, copy=False).join(cte_table("cust_all", "c"),
                                             on=exp.EQ(this=col("customer_id", "p"), expression=col("customer_id", "c")),
                                             join_type="FULL OUTER", copy=False)
                       .where(exp.NullSafeNEQ(this=col("signed_up_at", "p"), expression=col("signed_up_at", "c")), copy=False))
            affected = exp.union(recent, changed, distinct=True)
        else:
            affected = recent.distinct()
        renamed = []
        for name, query in self.ctes:
            renamed.append((f"{name}_all", query) if name in ("ev", "cust") else (name, query))
        self.ctes = renamed
        self.ctes.append(("affected", affected))
        for name in ("ev", "cust"):
            if any(n == f"{name}_all" for n, _ in self.ctes):
                only = exp.select("*").from_(cte_table(f"{name}_all"), copy=False).where(
                    col("customer_id").isin(query=cte_ids("affected")), copy=False)
                self.ctes.append((name, only))

    def _in_part(self, query: exp.Select, customer_id: str) -> exp.Select:
        """``query`` (over a source) restricted to this pass's customers, if the build has passes."""
        if self.part is None:
            return query
        return query.where(exp.EQ(this=customer_bucket(col(customer_id), self.part.of, self.part.integer_ids),
                                  expression=exp.Literal.number(self.part.index)), copy=False)

    def _previous_rows(self, alias: str | None = None) -> exp.Expr:
        """Incremental: the published progress rows (of this pass's customers)."""
        table = exp.to_table(self.incremental.previous)
        if self.part is None:
            return exp.alias_(table, alias) if alias else table
        rows = self._in_part(exp.select("*").from_(table, copy=False), "customer_id")
        return rows.subquery(alias or "previous", copy=False)

    def _customer_id(self) -> exp.Expr:
        if self.journey.customers is None:
            return col("customer_id", "agg")
        return exp.Coalesce(this=col("customer_id", "agg"), expressions=[col("customer_id", "cust")])

    def _signed_up_at(self) -> exp.Expr:
        if self.journey.customers is None:
            return exp.cast(exp.null(), exp.DataType.Type.TIMESTAMP)
        return col("signed_up_at", "cust")

    def _customers_query(self) -> exp.Select:
        """One row per customer id of the customers source, with its earliest signup (UTC)."""
        source = self.journey.customers
        cid = col(source.columns.customer_id)
        signed = parse_timestamp(col(source.columns.signed_up_at), source.columns.timestamp_format)
        return (exp.select(exp.alias_(cid, "customer_id", quoted=True),
                           exp.alias_(exp.Min(this=signed), "signed_up_at", quoted=True))
                .from_(relation_table(source.from_), copy=False).where(is_not_null(cid), copy=False).group_by(cid.copy(), copy=False))

    def _periods(self, i: int, leaves: list[_Leaf]) -> None:
        """CTE ``q_<i>``: (customer_id, p, m) for each period p ending a streak, m the moment within p."""
        milestone = self.milestones[i - 1]
        grain, streak = milestone.effective_per, milestone.effective_streak or 1
        key = period_key(col("occurred_at"), grain)
        predicates = [self._predicate(leaf) for leaf in leaves]
        relevant = exp.select("*").from_(cte_table("ev"), copy=False).where(exp.or_(*predicates) if len(predicates) > 1 else predicates[0], copy=False)
        self.ctes.append((f"pe_{i}", relevant))
        agg, distinct = self._leaf_aggregates(leaves, f"pe_{i}", [col("customer_id"), key], ["customer_id", "p"])
        self.ctes.append((f"pa_{i}", agg))
        self.ctes.extend(distinct)
        joined = exp.select(col("customer_id", "a"), col("p", "a"),
                            exp.alias_(self._moment(milestone.reached_when, f"l{i}", None), "m", quoted=True))
        joined = joined.from_(cte_table(f"pa_{i}", "a"), copy=False)
        for name, _ in distinct:
            on = exp.and_(exp.EQ(this=col("customer_id", "a"), expression=col("customer_id", name)),
                          exp.EQ(this=col("p", "a"), expression=col("p", name)))
            joined = joined.join(cte_table(name), on=on, join_type="LEFT", copy=False)
        holding = exp.select(col("customer_id"), col("p"), col("m")).from_(joined.subquery("x"), copy=False).where(
            is_not_null(col("m")), copy=False)
        if streak > 1:
            back = exp.Window(this=exp.Lag(this=col("p"), offset=exp.Literal.number(streak - 1)),
                              partition_by=[col("customer_id")], order=exp.Order(expressions=[exp.Ordered(this=col("p"))]))
            runs = holding.select(exp.alias_(back, "p_back", quoted=True), copy=False)
            holding = (exp.select(col("customer_id"), col("p"), col("m")).from_(runs.subquery("y"), copy=False)
                       .where(exp.EQ(this=col("p_back"), expression=exp.Sub(this=col("p"),
                                                                           expression=exp.Literal.number(streak - 1))), copy=False))
        self.ctes.append((f"q_{i}", holding))

    def _with_period_lists(self, previous_stage: str, indexes: list[int]) -> str:
        """Stage ``sk``: the previous stage plus, per ``per`` milestone, its qualifying period keys."""
        stage = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("s"))).from_(
            cte_table(previous_stage, "s"), copy=False)
        for i in indexes:
            name = f"qk_{i}"
            self.ctes.append((name, exp.select(col("customer_id"), exp.alias_(exp.ArrayAgg(this=exp.Order(this=col("p"), expressions=[exp.Ordered(this=col("p"), nulls_first=True)])),
                                                                              periods_column(i), quoted=True))
                              .from_(cte_table(f"q_{i}"), copy=False).group_by(col("customer_id"), copy=False)))
            stage = stage.select(col(periods_column(i), name), copy=False).join(
                cte_table(name), on=exp.EQ(this=col("customer_id", "s"), expression=col("customer_id", name)),
                join_type="LEFT", copy=False)
        self.ctes.append(("sk", stage))
        return "sk"

    def _previous(self, i: int) -> exp.Expr | None:
        """Under sequential order, the previous milestone's reached_at column (None for the first)."""
        if self.journey.order != "sequential" or i == 1:
            return None
        return col(reached_column(i - 1), "s")

    def _milestone_stage(self, i: int, previous_stage: str) -> str:
        """Stage ``s_<i>``: the previous stage plus ``r_<i>``."""
        milestone = self.milestones[i - 1]
        previous = self._previous(i)
        stage = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("s"))).from_(
            cte_table(previous_stage, "s"), copy=False)
        if milestone.effective_per is None:
            raw = self._moment(milestone.reached_when, f"l{i}", "s")
            if previous is not None:
                raw = all_of([raw, previous])
        else:
            q = f"q_{i}"
            if previous is None:
                reached = (exp.select(col("customer_id"), exp.alias_(exp.Min(this=col("m")), "raw", quoted=True))
                           .from_(cte_table(q), copy=False).group_by(col("customer_id"), copy=False))
            else:
                on = exp.and_(exp.EQ(this=col("customer_id", "q"), expression=col("customer_id", "s")),
                              exp.GTE(this=col("p", "q"), expression=period_key(previous.copy(), milestone.effective_per)))
                reached = (exp.select(col("customer_id", "s"),
                                      exp.alias_(exp.Min(this=exp.Greatest(this=col("m", "q"), expressions=[previous.copy()], ignore_nulls=True)),
                                                 "raw", quoted=True))
                           .from_(cte_table(previous_stage, "s"), copy=False)
                           .join(cte_table(q, "q"), on=on, copy=False)
                           .group_by(col("customer_id", "s"), copy=False))
            name = f"j_{i}"
            self.ctes.append((name, reached))
            stage = stage.join(cte_table(name), on=exp.EQ(this=col("customer_id", "s"), expression=col("customer_id", name)),
                               join_type="LEFT", copy=False)
            raw = col("raw", name)
        within = milestone.effective_within
        if within is not None:
            anchor = self._anchor(i, "s")
            deadline = exp.Add(this=anchor, expression=interval(within.amount, within.unit))
            raw = exp.Case(ifs=[exp.If(this=exp.and_(is_not_null(anchor), exp.LTE(this=raw.copy(), expression=deadline)),
                                       true=raw.copy())])
        self.ctes.append((f"s_{i}", stage.select(exp.alias_(raw, reached_column(i), quoted=True), copy=False)))
        return f"s_{i}"

    def _anchor(self, i: int, table: str | None) -> exp.Expr:
        return anchor_expr(self.journey, i, table)
