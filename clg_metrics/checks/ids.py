"""The two built-in event checks that are not plain counts: ``event_id`` uniqueness and unknown
customers, in a full run and from the stored state plus the new events (``checks/stateful.py``).

Uniqueness (GX's count: every row whose id occurs more than once). The state is the count over
the events at or before the cutoff, and a sample of those duplicated ids (they stay duplicated:
those events are unchanged). A later build groups only the new events' ids and probes the old
events for them — a one-column scan against a small hash table — or not even that when the new
ids lie outside the old ids' range (ids that grow with time), which the fingerprint scan finds
with a min and a max. A full run on DuckDB with integer ids counts the distinct ids in a bitmap
(``bitstring_agg``, no hash table) and groups only when that finds a duplicate. A key the
warehouse declares is not scanned (``fast.declared_unique``).

Unknown customers. Whether an old event's customer is known changes when the customers source
changes, with no event changing; so the state is the events' count per customer id (a table of
one row per id, ``state.ids_table``), updated with the new events' counts, and the check is that
table anti-joined with today's customers: exact whatever was added to or removed from them.
"""

from __future__ import annotations

import json
from decimal import Decimal

from sqlglot import exp

from ..compiler.events import relation_table
from ..compiler.sqlfns import col
from ..phases.run import STAGED_PREFIX
from .derive import CheckSpec
from .fast import SAMPLE_SIZE, declared_unique, fetch_sample
from .gx import CheckResult
from .state import ids_table

BITMAP_LIMIT = 1 << 28  # bits (32 MB): above that, or sparser than 64 bits per id, a hash table


def _n(value) -> exp.Expr:
    return exp.Literal.number(value)


def _if_over_one(name: str) -> exp.Expr:
    """A group's count if the group is duplicated (more than one row), else 0."""
    return exp.Case(ifs=[exp.If(this=exp.GT(this=col(name), expression=_n(1)), true=col(name))], default=_n(0))


def _expand(rows, count_at: int, limit: int, skip=()) -> list:
    """Sample values: each duplicated id as many times as it occurs (``row[count_at]``), capped."""
    out: list = []
    for row in rows:
        if row[0] in skip or str(row[0]) in skip:
            continue
        out += [row[0]] * max(0, min(int(row[count_at]), limit - len(out)))
    return out[:limit]


def _numeric(value) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


class IdChecks:
    def __init__(self, owner, checks: list[CheckSpec]):
        self.owner, self.engine = owner, owner.engine
        self.unique = [c for c in checks if c.expectation == "ExpectColumnValuesToBeUnique"]
        self.known = [c for c in checks if c not in self.unique]
        self.old_ranges: dict[str, tuple] = {}
        self.old_range_width = 2 * len(self.unique)

    # -- the old ids' range, from the fingerprint scan
    def old_range_aggregates(self, split) -> list[exp.Expr]:
        where = exp.Where(this=split.old())
        return [exp.Filter(this=agg(this=col(c.kwargs["column"])), expression=where.copy())
                for c in self.unique for agg in (exp.Min, exp.Max)]

    def old_range(self, values: list) -> None:
        self.old_ranges = {c.name: (values[2 * i], values[2 * i + 1]) for i, c in enumerate(self.unique)}

    def run(self, split):
        for check in self.unique:
            yield self._unique(check, split)
        for check in self.known:
            yield self._unknown(check, split)

    # -- uniqueness
    def _unique(self, check: CheckSpec, split):
        column = check.kwargs["column"]
        table = self.owner.table
        if not check.declared and declared_unique(self.engine, table, column):
            hint = f"not scanned: `{table}` declares `{column}` PRIMARY KEY or UNIQUE"
            return check, CheckResult(check, "pass", 0, None, 0.0, hint=hint), (0,), (), None
        if split.since is None:
            total, at_cutoff, sample, kept = self._unique_full(check, split)
        else:
            total, at_cutoff, sample, kept = self._unique_new(check, split)
        status = "pass" if not total else "fail"
        shown = json.dumps(sample, default=str) if total else None
        return check, CheckResult(check, status, total, shown, 0.0), (at_cutoff,), tuple(kept), None

    def _bitmap_range(self, column: str, rows: exp.Expr) -> tuple | None:
        """DuckDB, integer ids: (min, max, count) of ``rows``' ids if a bitmap of their range is
        small enough to count their distinct values in; else None (a hash table it is)."""
        if self.engine.dialect != "duckdb":
            return None
        low, high, count = self.owner.fetch(exp.select(exp.Min(this=col(column)), exp.Max(this=col(column)),
                                                       exp.Count(this=col(column))).from_(rows))[0]
        if not count:
            return low, high, 0
        if not isinstance(low, int) or isinstance(low, bool) or high - low + 1 > min(BITMAP_LIMIT, 64 * count):
            return None
        return low, high, count

    def _no_duplicates_by_bitmap(self, column: str, rows: exp.Expr | None = None, found=False) -> bool:
        """Whether every id of ``rows`` (default: the whole relation) is distinct, by a bitmap of
        their range (``bitstring_agg``: one bit per possible id, no hash table); False when that
        cannot tell (not DuckDB, not integers, too sparse). ``found``: ``_bitmap_range`` already."""
        rows = rows if rows is not None else relation_table(self.owner.table)
        found = self._bitmap_range(column, rows) if found is False else found
        if found is None:
            return False
        low, high, count = found
        if not count:
            return True
        bits = exp.Anonymous(this="bitstring_agg", expressions=[col(column), _n(low), _n(high)])
        [(distinct,)] = self.owner.fetch(exp.select(exp.Anonymous(this="bit_count", expressions=[bits])).from_(rows))
        return int(distinct) == int(count)

    def _unique_full(self, check: CheckSpec, split):
        column = check.kwargs["column"]
        if self._no_duplicates_by_bitmap(column):
            return 0, 0, [], []
        n, n_cut = exp.Count(this=exp.Star()), exp.Filter(this=exp.Count(this=exp.Star()),
                                                          expression=exp.Where(this=exp.Not(this=split.after_cutoff())))
        groups = (exp.select(exp.alias_(col(column), "id"), exp.alias_(n, "n"), exp.alias_(n_cut, "n_cut"))
                  .from_(relation_table(self.owner.table))
                  .where(exp.Not(this=exp.Is(this=col(column), expression=exp.null())))
                  .group_by(col(column)).having(exp.GT(this=n.copy(), expression=_n(1))))
        rows = self._ranked(groups, "n", "n_cut", [col("n"), _if_over_one("n_cut")])
        if not rows:
            return 0, 0, [], []
        total, at_cutoff = int(rows[0][3]), int(rows[0][4])
        kept = _expand([r for r in rows if int(r[2]) > 1], 2, SAMPLE_SIZE)
        return total, at_cutoff, _expand(rows, 1, SAMPLE_SIZE), kept

    def _ranked(self, groups: exp.Select, total: str, at_cutoff: str, sums: list[exp.Expr]) -> list[tuple]:
        """The first SAMPLE_SIZE duplicated groups (those still duplicated at the cutoff first), each
        as (id, its count, its count at the cutoff, then ``sums`` summed over all groups)."""
        over = [exp.Window(this=exp.Sum(this=s), partition_by=[]) for s in sums]
        first = exp.Case(ifs=[exp.If(this=exp.GT(this=col(at_cutoff), expression=_n(1)), true=_n(0))], default=_n(1))
        query = (exp.select(col("id"), col(total), col(at_cutoff), *over).from_(groups.subquery("d"))
                 .order_by(first).limit(SAMPLE_SIZE))
        return self.owner.fetch(query)

    def _unique_new(self, check: CheckSpec, split):
        """From the stored count: the new events' ids, grouped, and how often each occurs among the
        old events (0 without a probe when the ranges cannot meet)."""
        column = check.kwargs["column"]
        stored = self.owner.stored[check.name]
        table = relation_table(self.owner.table)
        present = exp.Not(this=exp.Is(this=col(column), expression=exp.null()))
        star = exp.Count(this=exp.Star())
        old_low, old_high = self.old_ranges.get(check.name, (None, None))
        found = self._bitmap_range(column, split.rows(self.owner.table).subquery("e"))
        if found is not None and (not found[2] or old_low is None or found[0] > old_high or found[1] < old_low) \
                and self._no_duplicates_by_bitmap(column, split.rows(self.owner.table).subquery("e"), found):
            # DuckDB, integer ids beyond the old ones' range, all distinct: nothing new is duplicated
            return stored.counts[0], stored.counts[0], list(stored.sample), list(stored.sample)
        new = (exp.select(exp.alias_(col(column), "id"), exp.alias_(star, "n_new"),
                          exp.alias_(exp.Filter(this=star.copy(), expression=exp.Where(this=split.after_cutoff())),
                                     "n_after"))
               .from_(table).where(exp.and_(split.new(), present)).group_by(col(column)))
        [(low, high, count, most)] = self.owner.fetch(exp.select(
            exp.Min(this=col("id")), exp.Max(this=col("id")), exp.Count(this=exp.Star()),
            exp.Max(this=col("n_new"))).from_(new.subquery("n")))
        apart = old_low is None or (all(_numeric(v) for v in (low, high, old_low, old_high))
                                    and (low > old_high or high < old_low))
        if not count or (apart and most == 1):  # no new id, or none repeated and none old
            return stored.counts[0], stored.counts[0], list(stored.sample), list(stored.sample)
        n_old: exp.Expr = _n(0)
        joined = exp.select(col("id", "n"), col("n_new", "n"), col("n_after", "n")).from_(new.subquery("n"))
        if not apart:
            ids = exp.select(col(column)).from_(table).where(exp.and_(split.new(), present))
            old = (exp.select(exp.alias_(col(column), "id"), exp.alias_(star.copy(), "n_old")).from_(table)
                   .where(exp.and_(split.old(), col(column).isin(query=ids))).group_by(col(column)))
            joined = joined.join(old.subquery("o"), on=exp.EQ(this=col("id", "n"), expression=col("id", "o")),
                                 join_type="LEFT")
            n_old = exp.Coalesce(this=col("n_old", "o"), expressions=[_n(0)])
        everything = exp.Add(this=n_old.copy(), expression=col("n_new", "n"))
        at_cutoff = exp.Sub(this=everything.copy(), expression=col("n_after", "n"))
        groups = (joined.select(exp.alias_(n_old, "n_old"), exp.alias_(everything, "n_all"),
                                exp.alias_(at_cutoff, "n_cut"))
                  .where(exp.GT(this=everything.copy(), expression=_n(1))))
        # per group, what it adds to the stored count: all its rows, less those the stored count has
        was = _if_over_one("n_old")
        rows = self._ranked(groups, "n_all", "n_cut", [exp.Sub(this=col("n_all"), expression=was),
                                                       exp.Sub(this=_if_over_one("n_cut"), expression=was.copy())])
        if not rows:
            return stored.counts[0], stored.counts[0], list(stored.sample), list(stored.sample)
        old_sample = list(stored.sample)
        sample = (old_sample + _expand(rows, 1, SAMPLE_SIZE, skip=set(map(str, old_sample)) | set(old_sample)))
        kept = (old_sample + _expand([r for r in rows if int(r[2]) > 1], 2, SAMPLE_SIZE,
                                     skip=set(map(str, old_sample)) | set(old_sample)))
        return (stored.counts[0] + int(rows[0][3]), stored.counts[0] + int(rows[0][4]),
                sample[:SAMPLE_SIZE], kept[:SAMPLE_SIZE])

    # -- unknown customers
    def _unknown(self, check: CheckSpec, split):
        relation, column, batch_column = check.fused.known
        name = ids_table(check.relation, check.name)
        staged = STAGED_PREFIX + name
        star = exp.Count(this=exp.Star())
        at_cutoff = exp.Filter(this=star.copy(), expression=exp.Where(this=exp.Not(this=split.after_cutoff())))
        counted = (exp.select(exp.alias_(col(batch_column), "customer_id"), exp.alias_(at_cutoff, "events_at_cutoff"),
                              exp.alias_(star, "events"))
                   .from_(split.rows(self.owner.table).subquery("e")).where(check.fused.predicate.copy())
                   .group_by(col(batch_column)))
        if split.since is not None:  # the stored counts (events at or before their cutoff) plus the new ones
            previous = (exp.select(col("customer_id"), col("events_at_cutoff"), exp.alias_(col("events_at_cutoff"),
                                                                                           "events"))
                        .from_(exp.table_(name, db=self.engine.schema)))
            both = exp.union(previous, counted, distinct=False).subquery("u")
            counted = (exp.select(col("customer_id"), exp.alias_(exp.Sum(this=col("events_at_cutoff")),
                                                                 "events_at_cutoff"),
                                  exp.alias_(exp.Sum(this=col("events")), "events"))
                       .from_(both).group_by(col("customer_id")))
        self.engine.create_table_as(staged, counted)
        self.owner.run.check_state.staged.append(name)
        known = (exp.select(exp.alias_(col(column), "k")).distinct()
                 .from_(relation_table(self.owner.run.physical(relation)))
                 .where(exp.Not(this=exp.Is(this=col(column), expression=exp.null()))))
        unknown = (exp.select("*").from_(exp.alias_(exp.table_(staged, db=self.engine.schema), "t"))
                   .join(known.subquery("c"), on=exp.EQ(this=col("customer_id", "t"), expression=col("k", "c")),
                         join_type="LEFT")
                   .where(exp.Is(this=col("k", "c"), expression=exp.null())))
        sums = [exp.Coalesce(this=exp.Sum(this=col(n, "t")), expressions=[_n(0)]) for n in ("events", "events_at_cutoff")]
        count, count_at_cutoff = (int(v) for v in self.owner.fetch(unknown.select(*sums, append=False))[0])
        sample, kept = self._unknown_samples(check, split, unknown, count, count_at_cutoff)
        result = CheckResult(check, "fail" if count else "pass", count,
                             json.dumps(sample, default=str) if count else None, 0.0)
        return check, result, (), tuple(kept), name



    def _unknown_samples(self, check: CheckSpec, split, unknown: exp.Select, count: int, at_cutoff: int):
        """(the result's sample rows, the rows to store: events at or before the cutoff). From the
        stored state: its rows whose customer is still unknown, then rows of the new events, and
        only if that is short (customers were added) a LIMIT query over the old events."""
        owner, physical = self.owner, self.owner.run.physical
        old_only = exp.select("*").from_(relation_table(owner.table)).where(exp.Not(this=split.after_cutoff()))
        if split.since is None:
            sample = fetch_sample(self.engine, check, physical, owner.table) if count else []
            kept = fetch_sample(self.engine, check, physical, old_only) if at_cutoff else []
            return sample, kept
        stored = list(owner.stored[check.name].sample)
        if stored:
            position = [c.lower() for c in self.engine.columns(owner.table)].index(check.fused.known[2].lower())
            ids = {str(r[0]) for r in owner.fetch(unknown.select(col("customer_id", "t"), append=False)
                                                  .where(exp.GT(this=col("events_at_cutoff", "t"), expression=_n(0)))
                                                  .limit(10_000))}
            stored = [r for r in stored if str(r[position]) in ids][:at_cutoff]
        sample = stored[:SAMPLE_SIZE]
        if len(sample) < min(count, SAMPLE_SIZE):
            sample += fetch_sample(self.engine, check, physical, split.rows(owner.table), SAMPLE_SIZE - len(sample))
        if len(sample) < min(count, SAMPLE_SIZE):  # the stored rows' customers became known
            older = exp.select("*").from_(relation_table(owner.table)).where(split.old())
            sample += fetch_sample(self.engine, check, physical, older, SAMPLE_SIZE - len(sample))
        kept = stored[:SAMPLE_SIZE]
        if len(kept) < min(at_cutoff, SAMPLE_SIZE):
            between = split.rows(owner.table).where(exp.Not(this=split.after_cutoff()))
            kept += fetch_sample(self.engine, check, physical, between, min(at_cutoff, SAMPLE_SIZE) - len(kept))
        if len(kept) < min(at_cutoff, SAMPLE_SIZE):
            kept += fetch_sample(self.engine, check, physical, exp.select("*").from_(relation_table(owner.table))
                                 .where(split.old()), min(at_cutoff, SAMPLE_SIZE) - len(kept))
        return sample, json.loads(json.dumps(kept, default=str))
