"""The queries of a journey's leaf state tables (``leaves.py`` says what the state is and how it
merges): the per-customer and per-period aggregates over the events, and in an incremental build
the touched customers' rows, merged into the stored ones or recomputed from their whole history.

``LeafStateQueries`` is the part of ``JourneyCompiler`` (``journey.py``) that builds them; it uses
the compiler's events source, predicates and CTE list.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ..conditions import EventCondition

from .ctes import cte_ids, cte_table
from .leaves import (StateColumn, leaves_model_name, merged_rows, mergeable, periods_model_name, smallest_state,
                     smallest_value, with_cut)
from .progress import EVENT_SPAN
from .segments import leaf_state, mergeable_state
from .sqlfns import col, is_not_null, nth_smallest, period_key


@dataclass
class Leaf:
    """An event leaf of a milestone's condition, with its unique column alias (its path)."""

    alias: str
    condition: EventCondition


@dataclass(frozen=True)
class LeafTables:
    """Where the progress query reads its leaf state (``leaves.py``): the DAG's per-customer and
    per-period tables, by name; the progress query of ``compile()`` without them inlines their
    queries as CTEs (one self-contained query, as the tests and ``compile`` render it)."""

    leaves: str
    periods: dict[int, str]


class LeafStateQueries:
    """``JourneyCompiler``'s leaf state queries (a mixin: the compiler holds the state they share)."""

    def _groups(self, leaves: list[Leaf]) -> dict[str, StateColumn]:
        """Per plain leaf (alias), the state column of its condition: leaves with the same condition
        share one, which keeps the first moments up to their largest n."""
        plain = [leaf for leaf in leaves if leaf.condition.distinct is None]
        kept: dict[exp.Expr, int] = {}
        for leaf in plain:
            predicate = self._predicate(leaf)
            kept[predicate] = max(kept.get(predicate, 1), leaf.condition.at_least)
        states = {predicate: smallest_state(f"t_{n}", size, predicate) for n, (predicate, size) in enumerate(kept.items(), 1)}
        return {leaf.alias: states[self._predicate(leaf)] for leaf in plain}

    def _leaf_state(self, leaves: list[Leaf], source: str, keys: list[exp.Expr], key_names: list[str],
                    extra: list[StateColumn] = ()) -> tuple[exp.Select, list[StateColumn], list[tuple[str, str]]]:
        """The aggregate over ``source`` by ``keys`` holding the plain leaves' state columns (and
        ``extra``), and per ``distinct`` leaf a two-step query by ``keys`` (``dv_``/``dn_`` CTEs);
        returns (the aggregate, its state columns, [(two-step CTE, column)])."""
        columns = list({id(c): c for c in self._groups(leaves).values()}.values()) + list(extra)
        select = exp.select(*[exp.alias_(k, n, quoted=True) for k, n in zip(keys, key_names)])
        for column in columns:
            select = select.select(*column.selections(), copy=False)
        select = select.from_(cte_table(source), copy=False).group_by(*[k.copy() for k in keys], copy=False)
        two_step = []
        for leaf in leaves:
            if leaf.condition.distinct is None:
                continue
            value = self.events.resolve(leaf.condition.distinct)
            predicate = exp.and_(self._predicate(leaf), is_not_null(value))
            firsts = (exp.select(*[exp.alias_(k.copy(), n, quoted=True) for k, n in zip(keys, key_names)],
                                 exp.alias_(exp.Min(this=col("occurred_at")), "first_at", quoted=True))
                      .from_(cte_table(source), copy=False).where(predicate, copy=False).group_by(*[k.copy() for k in keys], value.copy(), copy=False))
            self.ctes.append((f"dv_{leaf.alias}", firsts))
            nth = (exp.select(*[col(n) for n in key_names],
                              exp.alias_(nth_smallest(col("first_at"), leaf.condition.at_least, None),
                                         leaf.alias, quoted=True))
                   .from_(cte_table(f"dv_{leaf.alias}"), copy=False).group_by(*[col(n) for n in key_names], copy=False))
            self.ctes.append((f"dn_{leaf.alias}", nth))
            two_step.append((f"dn_{leaf.alias}", leaf.alias))
        return select, columns, two_step

    def _values(self, leaves: list[Leaf], table: str) -> list[exp.Expr]:
        """Each leaf's moment (its alias) read from a leaf state table aliased ``table``."""
        groups = self._groups(leaves)
        return [exp.alias_(smallest_value(groups[leaf.alias], leaf.condition.at_least, table)
                           if leaf.alias in groups else col(leaf.alias, table), leaf.alias, quoted=True)
                for leaf in leaves]

    # -- leaf state: the aggregates over the events -------------------------------------------
    def leaves_query(self, tables: LeafTables, touched_only: bool = False) -> exp.Query:
        """The per-customer leaf state (``progress_leaves__<journey>``), as its own model; with
        ``touched_only`` (incremental) only the touched customers' new rows, for a delta."""
        self.ctes, self.tables, self.touched_only = [], tables, touched_only
        self.merge = self._can_merge and self._customer_state_mergeable()
        self._sources(with_customers=False)  # (the leaf state is the events' alone)
        return self._finish(self._customer_state())

    def periods_query(self, i: int, tables: LeafTables, touched_only: bool = False) -> exp.Query:
        """``per`` milestone i's per-period leaf state (``progress_periods__<journey>__<i>``)."""
        self.ctes, self.tables, self.touched_only = [], tables, touched_only
        self.merge = self._can_merge and not any(leaf.condition.distinct for leaf in self.periodic[i])
        self._sources(with_customers=False)  # (the leaf state is the events' alone)
        return self._finish(self._period_state(i))

    def touched_ids(self) -> exp.Query:
        """Incremental: the customers whose rows of the leaf state and progress tables this build
        replaces (``_sources``' ``affected``)."""
        self.ctes, self.merge = [], False
        self._sources(with_customers=False)
        return self._finish(exp.select(col("customer_id")).from_(cte_table("affected"), copy=False))

    def _customer_state(self) -> exp.Select:
        """CTE ``agg`` (and the distinct leaves' and segments' two-step CTEs); the per-customer leaf
        state over them: by merge or recomputed for the touched customers, plus the untouched ones'
        stored rows, in an incremental build."""
        span = [smallest_state(EVENT_SPAN[0], 1, None),
                StateColumn(EVENT_SPAN[1], exp.Max(this=col("occurred_at")), "latest",
                            cut=with_cut(exp.Max(this=col("occurred_at")), self.cutoff))]
        segment: list[StateColumn] = []
        two_step_segments: list[tuple[str, str]] = []
        for leaf in self.segment:
            value = self.events.resolve(leaf.condition.distinct) if leaf.condition.distinct else None
            direct, two_step = leaf_state(leaf, self._predicate(leaf), value,
                                          lambda name, query: self.ctes.append((name, query)), cte_table, self.cutoff)
            segment += direct
            two_step_segments += two_step
        agg, columns, two_step = self._leaf_state(self.cumulative, "ev", [col("customer_id")], ["customer_id"],
                                                  span + segment)
        self.ctes.append(("agg", agg))
        return self._state_rows(["customer_id"], columns, two_step + two_step_segments,
                                self._stored(leaves_model_name(self.journey.journey)))

    def _period_state(self, i: int) -> exp.Select:
        """CTEs ``pe_<i>`` (the events of the milestone's leaves) and ``pa_<i>`` (their state by
        customer and period key ``p``); the per-period leaf state, as ``_customer_state``."""
        leaves = self.periodic[i]
        key = period_key(col("occurred_at"), self.milestones[i - 1].effective_per)
        predicates = [self._predicate(leaf) for leaf in leaves]
        relevant = exp.select("*").from_(cte_table("ev"), copy=False).where(
            exp.or_(*predicates) if len(predicates) > 1 else predicates[0], copy=False)
        self.ctes.append((f"pe_{i}", relevant))
        agg, columns, two_step = self._leaf_state(leaves, f"pe_{i}", [col("customer_id"), key], ["customer_id", "p"])
        self.ctes.append((f"pa_{i}", agg))
        return self._state_rows(["customer_id", "p"], columns, two_step,
                                self._stored(periods_model_name(self.journey.journey, i)), f"pa_{i}")

    def _state_rows(self, keys: list[str], columns: list[StateColumn], two_step: list[tuple[str, str]],
                    stored: str | None, aggregate: str = "agg") -> exp.Select:
        """The leaf state table's rows from CTE ``aggregate`` joined with the two-step CTEs; in an
        incremental build the touched customers' (merged into the ``stored`` table's rows where
        possible) and the others' stored rows."""
        on = lambda name: exp.and_(*[exp.EQ(this=col(k, "a"), expression=col(k, name)) for k in keys])  # noqa: E731
        rows = exp.select(*[col(k, "a") for k in keys], *[col(n, "a") for c in columns for n in c.names()])
        rows = rows.from_(cte_table(aggregate, "a"), copy=False)
        for name, column in two_step:
            rows = rows.select(col(column, name), copy=False).join(cte_table(name), on=on(name), join_type="LEFT", copy=False)
        if self.incremental is None:
            return rows
        names = keys + [n for c in columns for n in c.names()] + [c for _, c in two_step]
        previous = self._in_part(exp.select("*").from_(exp.to_table(stored), copy=False), "customer_id") \
            if stored is not None else None
        if self.merge:  # (leaves_query/periods_query found every column mergeable)
            assert stored is not None and not two_step and mergeable(columns)
            touched = previous.copy().where(col("customer_id").isin(query=cte_ids("affected")), copy=False)
            rows = merged_rows(columns, keys, touched.subquery("s"), cte_table(aggregate, "n"), self.incremental.since)
            rows = exp.select(*[col(n) for n in names]).from_(rows.subquery("r"), copy=False)
        if previous is None or self.touched_only:
            return rows
        kept = exp.select(*[col(n) for n in names]).from_(previous.subquery("o"), copy=False).where(
            exp.Not(this=col("customer_id").isin(query=cte_ids("affected"))), copy=False)
        return exp.union(rows, kept, distinct=False)

    def _stored(self, name: str) -> str | None:
        """Incremental, building a leaf state table of the DAG: the published one, ``name``."""
        return self.incremental.sibling(name) if self.incremental is not None and self.tables is not None else None

    @property
    def _can_merge(self) -> bool:
        """Incremental, building the DAG's leaf state tables, on an engine that merges lists."""
        return self.incremental is not None and self.incremental.merge and self.tables is not None

    def _customer_state_mergeable(self) -> bool:
        """No per-customer state without a merge: ``distinct`` leaves, the k-th latest for k > 1."""
        if any(leaf.condition.distinct for leaf in self.cumulative):
            return False
        return all(mergeable_state(leaf, kind, k) for leaf in self.segment for kind, k in leaf.condition.state().values())
