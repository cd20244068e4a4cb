"""A journey as SELECTs: every customer's ``reached_at`` and status for every milestone.

The progress query, one row per customer (the journey's "progress" model), is built in stages:

1. ``ev``: the staged events (``events.py``).
2. the leaf state (``leaves.py``, ``leaf_queries.py``; in the DAG its own tables, built before):
   ``lv``, one hash aggregate over ``ev`` by customer keeping, for every cumulative event leaf's
   condition, its first n matching moments (``min(ts, n)`` top-n, so one pass serves every leaf;
   ``distinct`` leaves first reduce to each value's first appearance), and ``pb_<i>``, for every
   ``per`` milestone the same by customer and period key.
3. for every ``per`` milestone, the moment the inner condition became true within each period
   (from ``pb_<i>``), then the periods that end a streak.
4. ``s0``: all customers (``lv`` ∪ customers source) with their signup and leaf moments, then one
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

from ..conditions import walk
from ..spec import Journey
from .events import EventSource, relation_table
from .progress import EVENT_SPAN, anchor_expr, periods_column, progress_columns, reached_column  # noqa: F401
from .ctes import CTE_PREFIX, INLINED_CTES, cte_ids, cte_name, cte_table  # noqa: F401 (the compiler's CTEs)
from .leaf_queries import Leaf, LeafStateQueries, LeafTables  # noqa: F401
from .segments import segment_leaves, state_columns
from .sqlfns import all_of, col, customer_bucket, interval, is_not_null, parse_timestamp, period_key, timestamp


@dataclass(frozen=True)
class Incremental:
    """Recompute only the customers touched since ``since``, keep the others from ``previous``.

    ``previous`` is the published progress table (schema-qualified, so that the build's renaming
    of project tables to their staged twins leaves it alone); the published leaf state tables are
    its siblings in that schema. The runner guarantees that events at or before ``since`` are
    unchanged since those tables were built (an event fingerprint). With ``merge`` (the plan found
    the stored leaf state current, and the engine can merge lists: ``dialects.merges_leaf_state``)
    the leaf state reads only the events after ``since`` and merges them into the stored rows;
    without, it recomputes the touched customers from their whole history.
    """

    previous: str
    since: datetime
    merge: bool = False

    def sibling(self, name: str) -> str:
        """The published table ``name`` in the previous progress table's schema."""
        schema = self.previous.rpartition(".")[0]
        return f"{schema}.{name}" if schema else name


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
class _Moments:
    """The compiler's side of ``conditions.MomentContext``: leaf and milestone columns of one table."""

    index: dict[str, int]
    table: str | None

    def leaf(self, alias: str) -> exp.Expr:
        return col(alias, self.table)

    def reached_at(self, milestone: str) -> exp.Expr:
        return col(reached_column(self.index[milestone]), self.table)


class JourneyCompiler(LeafStateQueries):
    """Builds the leaf state and progress queries of one journey; pure (no connection), dialect-free."""

    def __init__(self, journey: Journey, events: EventSource, as_of: datetime, sql_dialect: str = "duckdb",
                 incremental: Incremental | None = None, part: Pass | None = None, cutoff: datetime | None = None):
        self.incremental = incremental
        self.part = part
        self.journey = journey
        self.events = events
        self.as_of = as_of
        self.cutoff = cutoff if cutoff is not None else as_of  # the leaf state's counts up to it (leaves.py)
        self.sql_dialect = sql_dialect  # what `where` strings are written in (the project's), not the target
        self.ctes: list[tuple[str, exp.Expr]] = []
        self.tables: LeafTables | None = None  # the DAG's leaf state tables (None: inlined as CTEs)
        self.merge = False  # the leaf state query being built merges new events into stored rows
        self.touched_only = False  # ... and gives only the touched customers' rows (a delta)
        self.milestones = [m for _, m in journey.milestones]
        self.index = {m.milestone: i + 1 for i, m in enumerate(self.milestones)}
        self.cumulative = [leaf for i, m in enumerate(self.milestones, 1) if m.effective_per is None
                           for leaf in self._leaves(m.reached_when, f"l{i}")]
        self.periodic = {i: self._leaves(m.reached_when, f"l{i}") for i, m in enumerate(self.milestones, 1)
                         if m.effective_per is not None}
        self.segment = segment_leaves(journey)
        # Leaf predicates register the source columns they use; build them before the staging query.
        for leaf in self.cumulative + [leaf for leaves in self.periodic.values() for leaf in leaves] + self.segment:
            self._predicate(leaf)
            if leaf.condition.distinct:
                self.events.resolve(leaf.condition.distinct)

    # -- conditions -------------------------------------------------------------------------
    def _leaves(self, condition, prefix: str) -> list[Leaf]:
        """Every event leaf of a condition tree, each with a unique column alias (its path)."""
        return [Leaf(alias, node) for node, alias, _ in walk(condition, prefix) if node.READS_EVENTS]

    def _moment(self, condition, prefix: str, table: str | None) -> exp.Expr:
        """The moment from which a (period-local or cumulative) condition holds, as an expression."""
        return condition.moment(_Moments(self.index, table), prefix)

    def _predicate(self, leaf: Leaf) -> exp.Expr:
        return leaf.condition.event_predicate(self.events, self.sql_dialect)

    def _sources(self, with_customers: bool = True) -> None:
        """CTEs ``ev`` (the staged events; in an incremental build those the leaf state reads) and
        ``cust``, and in an incremental build ``affected``."""
        staged = self.events.staging_query(self.as_of)
        if self.incremental is None:
            self.ctes.append(("ev", self._in_part(staged, self.events.mapping.customer_id)))
            if self.journey.customers is not None and with_customers:
                self.ctes.append(("cust", self._in_part(self._customers_query(), self.journey.customers.columns.customer_id)))
            return
        since = timestamp(self.incremental.since)
        newer = staged.copy().where(exp.GT(this=parse_timestamp(col(self.events.mapping.occurred_at),
                                                                self.events.mapping.timestamp_format),
                                           expression=since), copy=False)
        self.ctes.append(("ev_new", self._in_part(newer, self.events.mapping.customer_id)))
        affected: exp.Query = exp.select(col("customer_id")).from_(cte_table("ev_new"), copy=False)
        went_quiet = exp.select(col("customer_id")).from_(self._previous_rows(), copy=False).where(
            exp.GT(this=col(EVENT_SPAN[1]), expression=since.copy()), copy=False)  # (their later events are gone)
        affected = exp.union(affected, went_quiet, distinct=True)
        if self.journey.customers is not None:
            self.ctes.append(("cust_all", self._in_part(self._customers_query(), self.journey.customers.columns.customer_id)))
            previous = self._previous_rows("p")
            changed = (exp.select(exp.alias_(exp.Coalesce(this=col("customer_id", "p"),
                                                          expressions=[col("customer_id", "c")]), "customer_id"))
                       .from_(previous, copy=False).join(cte_table("cust_all", "c"),
                                             on=exp.EQ(this=col("customer_id", "p"), expression=col("customer_id", "c")),
                                             join_type="FULL OUTER", copy=False)
                       .where(exp.NullSafeNEQ(this=col("signed_up_at", "p"), expression=col("signed_up_at", "c")), copy=False))
            affected = exp.union(affected, changed, distinct=True)
        self.ctes.append(("affected", affected))
        if self.merge:
            self.ctes.append(("ev", exp.select("*").from_(cte_table("ev_new"), copy=False)))
        else:
            everything = self._in_part(staged, self.events.mapping.customer_id)
            self.ctes.append(("ev", exp.select("*").from_(everything.subquery("e"), copy=False).where(
                col("customer_id").isin(query=cte_ids("affected")), copy=False)))
        if self.journey.customers is not None and with_customers:
            self.ctes.append(("cust", exp.select("*").from_(cte_table("cust_all"), copy=False).where(
                col("customer_id").isin(query=cte_ids("affected")), copy=False)))

    def _finish(self, final: exp.Query) -> exp.Query:
        for name, query in self.ctes:
            # The staged events are read by several aggregates: DuckDB would materialize a CTE used
            # more than once (a copy of every event); inlined, each aggregate scans the source.
            inline = name in INLINED_CTES or name.startswith("pe_")
            final = final.with_(cte_name(name), as_=query, materialized=False if inline else None, copy=False)
        return final

    # -- the progress query -----------------------------------------------------------------
    def compile(self, tables: LeafTables | None = None, touched_only: bool = False) -> exp.Query:
        """The progress query: customer_id, signed_up_at, r_1..r_K (reached_at of each milestone),
        the event span, the segment state and the period lists; reading the leaf state from
        ``tables``, or (None) from its own queries inlined as CTEs. With ``touched_only``
        (incremental) only the touched customers' rows, for a delta."""
        self.ctes, self.tables, self.merge, self.touched_only = [], tables, False, False
        self._sources()
        if tables is None:
            self.ctes.append(("lv", self._customer_state()))
            for i in self.periodic:
                self.ctes.append((f"pb_{i}", self._period_state(i)))
        leaves = self._leaf_relation(cte_table("lv") if tables is None else exp.alias_(exp.to_table(tables.leaves), "lv"), "lv")
        state = state_columns(self.journey)
        base = exp.select(exp.alias_(self._customer_id(), "customer_id", quoted=True),
                          exp.alias_(self._signed_up_at(), "signed_up_at", quoted=True))
        base = base.select(*self._values(self.cumulative, "lv"), *[col(c, "lv") for c in EVENT_SPAN],
                           *[col(c, "lv") for c in state], copy=False).from_(leaves, copy=False)
        if self.journey.customers is not None:
            base = base.join(cte_table("cust"), on=exp.EQ(this=col("customer_id", "lv"), expression=col("customer_id", "cust")),
                             join_type="FULL OUTER", copy=False)
        self.ctes.append(("s0", base))

        for i, leaves_i in self.periodic.items():
            self._periods(i, leaves_i)
        stage = "s0"
        for name in self.journey.evaluation_order():
            stage = self._milestone_stage(self.index[name], stage)

        if self.periodic:
            stage = self._with_period_lists(stage, list(self.periodic))
        columns = progress_columns(self.journey)
        final = exp.select(*[col(c) for c in columns]).from_(cte_table(stage), copy=False)
        if self.incremental is not None and not touched_only:
            kept = exp.select(*[col(c) for c in columns]).from_(self._previous_rows(), copy=False).where(
                exp.Not(this=col("customer_id").isin(query=cte_ids("affected"))), copy=False)
            final = exp.union(final, kept, distinct=False)
        return self._finish(final)

    def _leaf_relation(self, relation: exp.Expr, alias: str) -> exp.Expr:
        """A leaf state relation as the progress query reads it: the touched customers' rows in an
        incremental build, this pass's customers' in a build in passes, else all of it."""
        if self.incremental is None and self.part is None:
            return relation
        rows = exp.select("*").from_(relation, copy=False)
        if self.incremental is not None:
            rows = rows.where(col("customer_id", alias).isin(query=cte_ids("affected")), copy=False)
        return self._in_part(rows, "customer_id").subquery(alias, copy=False)

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
            return col("customer_id", "lv")
        return exp.Coalesce(this=col("customer_id", "lv"), expressions=[col("customer_id", "cust")])

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

    def _periods(self, i: int, leaves: list[Leaf]) -> None:
        """CTE ``q_<i>``: (customer_id, p, m) for each period p ending a streak, m the moment within p."""
        milestone = self.milestones[i - 1]
        streak = milestone.effective_streak or 1
        stored = cte_table(f"pb_{i}", "b") if self.tables is None else exp.alias_(exp.to_table(self.tables.periods[i]), "b")
        values = exp.select(col("customer_id", "b"), col("p", "b"), *self._values(leaves, "b")).from_(
            self._leaf_relation(stored, "b"), copy=False)
        joined = exp.select(col("customer_id"), col("p"),
                            exp.alias_(self._moment(milestone.reached_when, f"l{i}", None), "m", quoted=True))
        joined = joined.from_(values.subquery("a"), copy=False)
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
