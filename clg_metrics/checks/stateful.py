"""The built-in checks on a journey's events source in a build: read the new events only, when the
stored state (``checks/state.py``) makes that exact.

Every check here is made of counts over the events that add up: nulls, events after ``as_of``,
one count per event name, two per filtered leaf, the declared null and set expectations. A
build stores them over the events at or before its cutoff (``as_of - lookback``, the journeys'),
with the fingerprint of those events; the next build verifies the fingerprint in the scan the
journeys' incremental plan needs anyway (``plan.py`` takes the fingerprints from here, so the
events are hashed once), then counts only the events after the stored cutoff (or without a
moment) and adds the stored counts: the result is exactly the full run's. The stored counts stay
right as ``as_of`` moves forward, since events at or before the cutoff are at or before any
later ``as_of`` (an earlier ``as_of`` runs the checks in full). Uniqueness and unknown customers
need more than a count; ``checks/ids.py`` keeps what they need. Anything else — no state, a
changed check, old events changed, ``--full-refresh``, a failing query — runs the checks in full
(one scan for the counts, fused with the fingerprints) and stores a fresh state.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime

from sqlglot import exp

from ..compiler.events import relation_table
from ..dialects import to_sql
from ..incremental import ROW, fingerprint_aggregates, fingerprint_key, occurred
from .derive import CheckSpec, RowCount
from .fast import SAMPLE_SIZE, counted_result, counted_rows, fetch_sample, shares_scan, _count_where
from .gx import CheckResult
from .ids import IdChecks
from .state import CheckStateUpdate, StoredCheck


def handles(check: CheckSpec) -> bool:
    """Whether the check is computed from counts here (else it runs in full, in ``fast.py``/GX)."""
    if check.expectation == "ExpectColumnValuesToBeUnique" and not check.kwargs.get("mostly"):
        return True
    return shares_scan(check)


def signature(check: CheckSpec, split: exp.Expr, as_of: datetime) -> str:
    """What the stored counts depend on: the check's definition and how events are split by time.
    ``as_of`` is left out: it only bounds events after the cutoff (see the module docstring)."""
    parts = [check.relation, check.name, check.expectation, json.dumps(check.kwargs, sort_keys=True, default=str),
             to_sql(split, "duckdb")]
    if check.fused is not None and not isinstance(check.fused, RowCount):
        parts.append(repr(getattr(check.fused, "names", None)) + repr(getattr(check.fused, "rows", None)))
    parts += [to_sql(p, "duckdb") if p is not None else "*" for p in counted_rows(check)] if shares_scan(check) else []
    if isinstance(check.fused, RowCount) and check.fused.known:
        parts.append(repr(check.fused.known))
    text = "\n".join(parts).replace(as_of.strftime("%Y-%m-%d %H:%M:%S.%f"), "AS_OF")
    return hashlib.sha1(text.encode()).hexdigest()


@dataclass
class Split:
    """Where the events divide: ``old`` at or before ``since`` (counted before), the rest new;
    ``cutoff`` is this build's cutoff, up to which the new state counts."""

    moment: exp.Expr  # the event's moment, unqualified
    since: datetime | None  # None: a full run (every event is new)
    cutoff: datetime

    def old(self) -> exp.Expr:
        return exp.LTE(this=self.moment.copy(), expression=_ts(self.since))

    def new(self) -> exp.Expr:
        """Not old (NULL moments included): a plain comparison, which DuckDB prunes by zone maps."""
        return exp.Paren(this=exp.or_(exp.GT(this=self.moment.copy(), expression=_ts(self.since)),
                                      exp.Is(this=self.moment.copy(), expression=exp.null())))

    def after_cutoff(self) -> exp.Expr:
        """After this build's cutoff, or without a moment: not in the state this build stores."""
        return exp.Paren(this=exp.or_(exp.GT(this=self.moment.copy(), expression=_ts(self.cutoff)),
                                      exp.Is(this=self.moment.copy(), expression=exp.null())))

    def rows(self, table: str) -> exp.Select:
        """The rows to count: the new ones, or all in a full run."""
        select = exp.select("*").from_(relation_table(table))
        return select.where(self.new()) if self.since is not None else select


def _ts(value: datetime) -> exp.Expr:
    from ..compiler.sqlfns import timestamp

    return timestamp(value)


class EventChecks:
    """The checks of one events relation in one build."""

    def __init__(self, run, relation: str, checks: list[CheckSpec], journeys: list, journey_cutoffs: dict,
                 cutoff: datetime, stored: dict, allow_incremental: bool):
        self.run, self.engine, self.relation, self.checks = run, run.engine, relation, checks
        self.table = run.physical(relation)
        self.journeys, self.journey_cutoffs, self.cutoff = journeys, journey_cutoffs, cutoff
        self.moment = occurred(journeys[0], None)
        self.signatures = {c.name: signature(c, self.moment, run.ctx.as_of) for c in checks}
        self.stored = {c.name: stored.get((relation, c.name)) for c in checks}
        self.mode = self._candidate(allow_incremental)

    def _candidate(self, allowed: bool) -> str:
        """'incremental' if the stored state fits (pending the fingerprint), else why not."""
        rows = list(self.stored.values())
        if not allowed:
            return "full: --full-refresh or incremental builds disabled"
        if not rows or any(r is None or r.signature != self.signatures[n] for n, r in self.stored.items()):
            return "full: no stored state for these checks"
        if len({(r.cutoff, r.as_of, r.event_count, r.event_hash) for r in rows}) != 1:
            return "full: the stored state is of several builds"
        if rows[0].cutoff > self.cutoff or self.run.ctx.as_of < rows[0].as_of:
            return "full: as_of is earlier than the stored state's"
        tables = self.engine.tables()
        if any(r.detail_table and r.detail_table not in tables for r in rows):
            return "full: a stored per-customer table is missing"
        return "incremental"

    def fetch(self, query: exp.Expr) -> list[tuple]:
        _, rows = self.engine.fetch(query)
        return rows

    # -- the one scan of every event: fingerprints (for the plan too) and, in a full run, the counts
    def _main_scan(self, since: datetime | None, ids: IdChecks) -> list:
        """One scan of every event: the fingerprints the journeys' plan and the state need, and the
        checks' counts (a full run) or the old ids' range (from the stored state)."""
        keys: dict[tuple, tuple] = {}
        for journey in self.journeys:
            for c in self.journey_cutoffs.get(journey.journey, []):
                keys.setdefault(fingerprint_key(journey, self.table, c), (occurred(journey), c))
        for c in [self.cutoff] + ([since] if since else []):
            keys.setdefault(fingerprint_key(self.journeys[0], self.table, c), (occurred(self.journeys[0]), c))
        values = [a for moment, c in keys.values() for a in fingerprint_aggregates(moment, [c])]
        if since is None:
            extra = [_count_where(p) for check in self.scalar for p in counted_rows(check)]
        else:
            extra = ids.old_range_aggregates(Split(self.moment, since, self.cutoff))
        query = exp.select(*values, *extra).from_(exp.alias_(relation_table(self.table), ROW))
        row = self.fetch(query)[0]
        for i, key in enumerate(keys):
            self.run.fingerprints[key] = (row[2 * i], row[2 * i + 1])
        return list(row[2 * len(keys):])

    def run_checks(self, update: CheckStateUpdate) -> list[CheckResult]:
        """Every check of the relation; their state rows go to ``update``."""
        started = time.perf_counter()
        self.scalar = [c for c in self.checks if shares_scan(c) and not _known(c)]
        ids = IdChecks(self, [c for c in self.checks if c not in self.scalar])
        first = next(iter(self.stored.values()))
        since = first.cutoff if self.mode == "incremental" else None
        scanned = self._main_scan(since, ids)
        if since is not None:
            count, digest = self.run.fingerprints[fingerprint_key(self.journeys[0], self.table, since)]
            if (int(count or 0), str(digest or "0")) != (first.event_count, first.event_hash):
                self.mode, since = "full: events at or before the stored cutoff changed", None
                scanned = self._count_all()
            else:
                ids.old_range(scanned)
        self.split = split = Split(self.moment, since, self.cutoff)
        totals, at_cutoff, new = self._scalar_counts(split, scanned)
        results = []
        for check in self.scalar:
            stored = self.stored[check.name]

            def sample(check=check, stored=stored) -> str:
                return json.dumps(self._sample(check, split, stored, new[check.name]), default=str)

            status, count, shown = counted_result(check, totals[check.name], sample)
            results.append(CheckResult(check, status, count, shown, 0.0))
            kept = self._kept_sample(check, split, stored, at_cutoff[check.name])
            update.rows.append(self._row(check, at_cutoff[check.name], kept))
        for check, result, counts, kept, detail in ids.run(split):
            results.append(result)
            update.rows.append(self._row(check, counts, kept, detail))
        share = (time.perf_counter() - started) / max(1, len(results))
        for result in results:
            result.seconds = share
        update.relations.add(self.relation)
        return results

    def _count_all(self) -> list:
        """The counts over every event (a full run after the fingerprint scan found old events changed)."""
        counts = [_count_where(p) for check in self.scalar for p in counted_rows(check)]
        return list(self.fetch(exp.select(*counts).from_(relation_table(self.table)))[0]) if counts else []

    def _scalar_counts(self, split: Split, full_counts: list):
        """Per check: its counts now, at the cutoff (to store), and over the new events. One query
        over the new events, grouped by whether an event is after this build's cutoff (two groups:
        half the predicates a FILTER pair per count would evaluate); in a full run ``full_counts``
        are the totals and the query counts the events after the cutoff (a range zone maps prune)."""
        aggregates = [_count_where(p) for check in self.scalar for p in counted_rows(check)]
        width = len(aggregates)
        new_total, after = [0] * width, [0] * width
        if aggregates and split.since is None:
            rows = exp.select("*").from_(relation_table(self.table)).where(split.after_cutoff())
            after = [int(v or 0) for v in self.fetch(exp.select(*aggregates).from_(rows.subquery("e")))[0]]
        elif aggregates:
            flag = split.after_cutoff()
            query = (exp.select(exp.alias_(flag, "clg_after"), *aggregates)
                     .from_(split.rows(self.table).subquery("e")).group_by(flag.copy()))
            for is_after, *values in self.fetch(query):
                values = [int(v or 0) for v in values]
                new_total = [a + b for a, b in zip(new_total, values)]
                after = values if is_after else after
        totals, at_cutoff, new = {}, {}, {}
        position = 0
        for check in self.scalar:
            n = len(counted_rows(check))
            mine, beyond = new_total[position:position + n], after[position:position + n]
            if split.since is None:
                totals[check.name] = new[check.name] = [int(v or 0) for v in full_counts[position:position + n]]
            else:
                new[check.name] = mine
                totals[check.name] = [s + m for s, m in zip(self.stored[check.name].counts, mine)]
            at_cutoff[check.name] = [t - a for t, a in zip(totals[check.name], beyond)]
            position += n
        return totals, at_cutoff, new

    def _sample(self, check: CheckSpec, split: Split, stored: StoredCheck | None, new: list[int]) -> list:
        """Up to SAMPLE_SIZE unexpected values: the stored ones (old events, still unexpected:
        they and the check are unchanged), then from the new events."""
        kept = list(stored.sample) if split.since is not None and stored else []
        if len(kept) < SAMPLE_SIZE and new[0]:
            rows = split.rows(self.table)
            kept += fetch_sample(self.engine, check, self.run.physical, rows, SAMPLE_SIZE - len(kept))
        return kept[:SAMPLE_SIZE]

    def _kept_sample(self, check: CheckSpec, split: Split, stored: StoredCheck | None, at_cutoff: list[int]) -> tuple:
        """The sample to store: unexpected values of events at or before the cutoff."""
        if isinstance(check.fused, (type(None), RowCount)) and at_cutoff and at_cutoff[0]:
            kept = list(stored.sample) if split.since is not None and stored else []
            wanted = min(SAMPLE_SIZE, at_cutoff[0]) - len(kept)
            if wanted > 0:
                rows = relation_table(self.table)
                where = [split.new()] if split.since is not None else []
                where.append(exp.Not(this=split.after_cutoff()))
                batch = exp.select("*").from_(rows).where(exp.and_(*where))
                kept += fetch_sample(self.engine, check, self.run.physical, batch, wanted)
            return tuple(json.loads(json.dumps(kept, default=str)))
        return ()

    def _row(self, check: CheckSpec, counts, sample, detail: str | None = None) -> StoredCheck:
        count, digest = self.run.fingerprints[fingerprint_key(self.journeys[0], self.table, self.cutoff)]
        return StoredCheck(self.relation, check.name, self.signatures[check.name], self.cutoff, self.run.ctx.as_of,
                           int(count), str(digest or "0"), tuple(int(c) for c in counts), tuple(sample), detail)


def _known(check: CheckSpec) -> bool:
    return isinstance(check.fused, RowCount) and check.fused.known is not None


def run_event_checks(run, checks: list[CheckSpec], journey_cutoffs: dict[str, list[datetime]], cutoff: datetime,
                     allow_incremental: bool) -> tuple[list[CheckResult], list[CheckSpec]]:
    """The checks on the selected journeys' events sources that ``handles`` takes, per relation
    from its state where that is exact (see the module docstring); their state rows and staged
    tables go to ``run.check_state``. Returns (results, the checks left for the plain path): a
    relation whose queries fail is left whole to the plain path, which names each check's error."""
    from .state import read_state

    selected = run.ctx.selected_journeys()
    journeys: dict[str, list] = {}
    for loaded in run.ctx.project.journeys:
        if selected is None or loaded.name in selected:
            journeys.setdefault(loaded.journey.events.from_.lower(), []).append(loaded.journey)
    run.check_state = run.check_state or CheckStateUpdate()
    stored = read_state(run.engine) if allow_incremental else {}
    results, rest = [], []
    by_relation: dict[str, list[CheckSpec]] = {}
    for check in checks:
        if check.relation in journeys and handles(check):
            by_relation.setdefault(check.relation, []).append(check)
        else:
            rest.append(check)
    for relation, group in by_relation.items():
        staged = list(run.check_state.staged)
        rows = len(run.check_state.rows)
        try:
            scan = EventChecks(run, relation, group, journeys[relation], journey_cutoffs, cutoff, stored,
                               allow_incremental)
            results += scan.run_checks(run.check_state)
            run.check_state.modes[relation] = scan.mode
            if scan.split.since is not None:
                run.check_state.new_rows[relation] = scan.split.rows(scan.table)
        except Exception:  # e.g. a declared check on a missing column: each check alone says which
            run.check_state.rows[rows:] = []
            added = [n for n in run.check_state.staged if n not in staged]
            run.check_state.staged[:] = staged
            run.check_state.relations.discard(relation)
            try:
                run.engine.drop(["__clg_next__" + n for n in added])
            except Exception:
                pass
            rest += group
    return results, rest
