"""A slow, independent, pure-Python reference evaluator of SPEC §4 (CLG analysis), next to
``reference_evaluator.py`` (SPEC §2/§3), whose results it builds on.

``evaluate_analysis(journey, events, customers, as_of, core=None)`` returns the seven §4 tables
``segment_members``, ``segment_funnel``, ``success_gaps``, ``win_back``, ``cohort_funnel``,
``kpi_trend`` and ``period_kpis`` as lists of row dicts (the SPEC's column names, in its order);
``core`` is ``evaluate(...)``'s result, computed when not given. ``evaluate_all`` gives both.
It is written from the SPEC text, to be read: each table is one function below.

Supported: segment conditions ``{event: NAME | [..], where: mapping, distinct, at_least, at_most,
in_last: {days|hours|minutes|seconds: D}}``, ``{milestone: M, status: S}``, ``{customer: mapping}``
over the customers rows' own columns, ``{signed_up: {days_ago: {gte|gt|lte|lt: D}}}``, ``all``,
``any``, ``not``; ``analysis: {benchmark, cohorts: {per, within}, trend, win_back: {inactive_days}}``.
Not supported (NotImplementedError or KeyError): SQL-string filters, JSON ``properties`` keys,
``columns`` mappings.

Readings taken where SPEC §4 can be read two ways (the readings of ``reference_evaluator`` hold too)
------------------------------------------------------------------------------------------------
1. The customers "present in the journey" are the rows of ``customer_progress``. Every segment
   condition is two-valued: one involving a NULL or a missing customers row is false, ``not`` of it
   true.
2. ``{customer: FILTER}`` holds when ANY customers row with that customer's id matches FILTER
   (mapping semantics as ``where``: NULL matches nothing, ``{col: null}`` is IS NULL). No customers
   row (or no customers source) -> false.
3. Event leaf: the customer's matching events that count (reference reading 1: non-null id, name and
   time, at or before as_of), with ``in_last`` only those with ``occurred_at > as_of - D``
   (strictly); the count is of events, or with ``distinct`` of distinct non-null values. Holds when
   count >= at_least (default 1, or 0 when ``at_most`` is given) and, with ``at_most``, count <=
   at_most. So ``{at_most: 0}`` holds for a customer without any events.
4. ``signed_up.days_ago`` = (as_of - signed_up_at) in exact fractional days, signed_up_at being
   ``customer_progress.signed_up_at`` (the earliest non-null one of the customer's rows); negative
   for a signup after as_of. Every operator given must hold. A decimal bound (e.g. 1.5) is taken as
   the decimal it is written as, not its binary float. NULL signed_up_at -> false.
5. Segment names sort as strings; ``all`` is a segment like the others in ``segment_funnel`` and
   ``success_gaps`` (never in ``segment_members``). The benchmark is ``analysis.benchmark``, else
   the first declared segment; ``benchmark: all`` (if a journey says so) means every customer.
6. segment_funnel: the §3 funnel (reference reading 12) over the members; a segment without
   members gets zero counts, NULL percentages and medians, dropped_from_previous 0.
7. success_gaps: customers_at_from = members whose previous milestone's reached_at is not NULL;
   customers_converted = of those, with this milestone's reached_at not NULL; still_in_progress = of
   the dropped, status ``in_progress`` for this milestone. gap_customers = round2(at_from *
   (bench_converted / bench_at_from - converted / at_from)) computed exactly, NULL when at_from or
   bench_at_from is 0, and NULL (with the benchmark columns) without segments. rank: 1-based within
   journey x segment by the rounded gap_customers descending, NULLs last, then dropped descending,
   then to_index ascending.
8. win_back: "not reached the last milestone" = the journey's last milestone (in journey order) has
   reached_at NULL (a journey without milestones has no win_back rows); next_milestone as in
   customer_progress, its status ``in_progress``; last_seen_at = latest counted event, else
   customer_progress.signed_up_at, neither -> left out; kept when days(as_of - last_seen_at) >=
   inactive_days (exactly; a signup after as_of is never inactive). days_inactive =
   round2(days(as_of - last_seen_at)).
9. cohort_funnel: anchor = customer_progress.signed_up_at when the journey has a customers source
   and it is not NULL, else the customer's first counted event; no anchor -> left out. cohort_start
   = DATE of the UTC Monday-week / month start holding the anchor. customers_reached_within =
   reached_at <= anchor + window (inclusive; a reached_at before the anchor counts). is_complete =
   next period's start + window <= as_of. A journey without milestones has no rows.
10. kpi_trend: periods from the one holding the journey's earliest reached_at (any milestone, any
    customer) to the one holding as_of, all included; newly_reached = reached_at in [start, next
    start), reached_to_date = reached_at < next start.
11. period_kpis: for each milestone with ``per`` (on the milestone or in reached_when), at its own
    grain: customers_qualified = present customers for whom the period ends a run of ``streak``
    qualifying periods (reference reading 5), on their counted events, ignoring order, previous
    milestones and ``within``. Periods from the first one some customer qualifies in to the one
    holding as_of, empty ones included; none qualifying -> no rows for that milestone. (A period
    qualifies only if it holds events, since at_least >= 1 in milestone conditions.)
12. Rows are sorted by their natural key: (journey, segment, customer_id), (journey, segment,
    milestone_index), (journey, segment, to_index), (journey, customer_id), (journey, cohort_start,
    milestone_index), (journey, milestone_index, period_start) for kpi_trend and period_kpis.
13. Types: DATE columns are ``datetime.date``, timestamps naive UTC ``datetime``, percentages and
    day figures floats of two decimals, counts and rank int, is_complete bool.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from reference_evaluator import (
    Milestone,
    _Customer,
    _milestones,
    _within_window,
    counted_events,
    days,
    evaluate,
    funnel_rows,
    matches_where,
    next_period,
    pct,
    period_start,
    round2,
    signups,
)

ANALYSIS_TABLES = ("segment_members", "segment_funnel", "success_gaps", "win_back", "cohort_funnel",
                   "kpi_trend", "period_kpis")
ALL = "all"
BOUNDS = {"gte": lambda a, b: a >= b, "gt": lambda a, b: a > b, "lte": lambda a, b: a <= b, "lt": lambda a, b: a < b}


def exact(number: Any) -> Fraction:
    """A YAML number as the exact value it is written as (reading 4)."""
    return Fraction(str(number)) if isinstance(number, float) else Fraction(number)


def window(spec: dict) -> timedelta:
    """``{days|hours|minutes|seconds: N}`` (``of`` and other keys ignored) as a timedelta."""
    return _within_window(spec)


# ----------------------------------------------------------------------------- the data one journey sees


class _Journey:
    def __init__(self, journey: dict, events: list[dict], customers: list[dict] | None, as_of: datetime,
                 core: dict[str, list[dict]]):
        self.name = journey["journey"]
        self.doc = journey
        self.order = journey.get("order") or "sequential"
        self.milestones: list[Milestone] = _milestones(journey)
        self.as_of = as_of
        self.customers = customers
        self.events = counted_events(events, as_of)
        self.signed_up = signups(customers)
        self.progress = {r["customer_id"]: r for r in core["customer_progress"] if r["journey"] == self.name}
        self.ids = sorted(self.progress)
        self.reached: dict[Any, dict[str, datetime | None]] = {cid: {} for cid in self.ids}
        self.status: dict[Any, dict[str, str]] = {cid: {} for cid in self.ids}
        for r in core["milestone_status"]:
            if r["journey"] == self.name:
                self.reached[r["customer_id"]][r["milestone"]] = r["reached_at"]
                self.status[r["customer_id"]][r["milestone"]] = r["status"]
        self.analysis = journey.get("analysis") or {}
        self.segments = {s["segment"]: s["when"] for s in journey.get("segments") or []}
        self.members = {name: [cid for cid in self.ids if self.holds(when, cid)] for name, when in self.segments.items()}
        self.members[ALL] = list(self.ids)
        self.benchmark = self.analysis.get("benchmark") or (next(iter(self.segments)) if self.segments else None)

    # -- segment conditions (SPEC §4 "Segment conditions"), two-valued -----------------

    def holds(self, condition: dict, cid) -> bool:
        if "all" in condition:
            return all(self.holds(c, cid) for c in condition["all"])
        if "any" in condition:
            return any(self.holds(c, cid) for c in condition["any"])
        if "not" in condition:
            return not self.holds(condition["not"], cid)
        if "event" in condition:
            return self.event_leaf(condition, cid)
        if "milestone" in condition:
            return self.status[cid].get(condition["milestone"]) == (condition.get("status") or "reached")
        if "customer" in condition:
            return any(row.get("customer_id") == cid and matches_where(row, condition["customer"])
                       for row in self.customers or [])
        if "signed_up" in condition:
            signed = self.progress[cid]["signed_up_at"]
            if signed is None:
                return False
            ago = days(self.as_of - signed)
            bounds = condition["signed_up"]["days_ago"]
            return all(BOUNDS[op](ago, exact(d)) for op, d in bounds.items())
        raise ValueError(f"not a segment condition: {condition!r}")

    def event_leaf(self, leaf: dict, cid) -> bool:
        names = leaf["event"] if isinstance(leaf["event"], list) else [leaf["event"]]
        matching = [e for e in self.events.get(cid, [])
                    if e["event_name"] in names and matches_where(e, leaf.get("where"))]
        if leaf.get("in_last") is not None:
            since = self.as_of - window(leaf["in_last"])
            matching = [e for e in matching if e["occurred_at"] > since]
        if leaf.get("distinct") is not None:
            values = {e.get(leaf["distinct"]) for e in matching} - {None}
            count = len(values)
        else:
            count = len(matching)
        at_most = leaf.get("at_most")
        at_least = leaf.get("at_least", 0 if at_most is not None else 1)
        return count >= at_least and (at_most is None or count <= at_most)

    def segment_names(self) -> list[str]:
        return sorted(self.members)

    def last_seen_at(self, cid) -> datetime | None:
        mine = self.events.get(cid)
        if mine:
            return max(e["occurred_at"] for e in mine)
        return self.progress[cid]["signed_up_at"]


# ----------------------------------------------------------------------------- the tables


def segment_members(j: _Journey) -> list[dict]:
    return [{"journey": j.name, "segment": name, "customer_id": cid}
            for name in sorted(j.segments) for cid in j.members[name]]


def segment_funnel(j: _Journey) -> list[dict]:
    rows = []
    for name in j.segment_names():
        for row in funnel_rows(j.name, j.milestones, j.reached, j.members[name]):
            rows.append({"journey": row["journey"], "segment": name,
                         **{k: v for k, v in row.items() if k != "journey"}})
    return rows


def _step(j: _Journey, members: list, previous: Milestone, this: Milestone) -> tuple[int, int, int]:
    at_from = [cid for cid in members if j.reached[cid][previous.name] is not None]
    converted = [cid for cid in at_from if j.reached[cid][this.name] is not None]
    dropped = [cid for cid in at_from if j.reached[cid][this.name] is None]
    still = sum(j.status[cid][this.name] == "in_progress" for cid in dropped)
    return len(at_from), len(converted), still


def success_gaps(j: _Journey) -> list[dict]:
    rows = []
    for name in j.segment_names():
        mine = []
        for previous, this in zip(j.milestones, j.milestones[1:]):
            at_from, converted, still = _step(j, j.members[name], previous, this)
            bench_pct = gap = None
            if j.benchmark is not None:
                b_from, b_converted, _ = _step(j, j.members[j.benchmark], previous, this)
                bench_pct = pct(b_converted, b_from)
                if at_from and b_from:
                    gap = round2(Fraction(at_from * b_converted, b_from) - converted)
            mine.append({
                "journey": j.name, "segment": name, "from_milestone": previous.name,
                "to_index": this.index, "to_milestone": this.name,
                "customers_at_from": at_from, "customers_converted": converted,
                "conversion_pct": pct(converted, at_from), "dropped": at_from - converted,
                "still_in_progress": still, "benchmark_segment": j.benchmark,
                "benchmark_conversion_pct": bench_pct, "gap_customers": gap, "rank": None,
            })
        ranked = sorted(mine, key=lambda r: (r["gap_customers"] is None, -(r["gap_customers"] or 0),
                                             -r["dropped"], r["to_index"]))
        for rank, row in enumerate(ranked, start=1):
            row["rank"] = rank
        rows += mine
    return rows


def win_back(j: _Journey) -> list[dict]:
    if not j.milestones:
        return []
    last = j.milestones[-1].name
    inactive = exact((j.analysis.get("win_back") or {}).get("inactive_days", 14))
    rows = []
    for cid in j.ids:
        p = j.progress[cid]
        if j.reached[cid][last] is not None or p["next_milestone"] is None:
            continue
        if j.status[cid][p["next_milestone"]] != "in_progress":
            continue
        seen = j.last_seen_at(cid)
        if seen is None or days(j.as_of - seen) < inactive:
            continue
        rows.append({
            "journey": j.name, "customer_id": cid, "signed_up_at": p["signed_up_at"],
            "current_milestone": p["current_milestone"], "next_milestone": p["next_milestone"],
            "current_reached_at": p["current_reached_at"], "last_seen_at": seen,
            "days_inactive": round2(days(j.as_of - seen)), "days_since_progress": p["days_since_progress"],
        })
    return rows


def cohort_funnel(j: _Journey) -> list[dict]:
    settings = j.analysis.get("cohorts") or {}
    grain = settings.get("per") or "month"
    width = window(settings.get("within") or {"days": 30})
    anchors = {}
    for cid in j.ids:
        anchor = j.progress[cid]["signed_up_at"] if j.customers is not None else None
        if anchor is None and j.events.get(cid):
            anchor = min(e["occurred_at"] for e in j.events[cid])
        if anchor is not None:
            anchors[cid] = anchor
    cohorts: dict[datetime, list] = {}
    for cid, anchor in anchors.items():
        cohorts.setdefault(period_start(anchor, grain), []).append(cid)
    rows = []
    for start in sorted(cohorts):
        members = cohorts[start]
        complete = next_period(start, grain) + width <= j.as_of
        for m in j.milestones:
            reached = [cid for cid in members if j.reached[cid][m.name] is not None]
            within = [cid for cid in reached if j.reached[cid][m.name] <= anchors[cid] + width]
            rows.append({
                "journey": j.name, "cohort_start": start.date(), "milestone_index": m.index,
                "milestone": m.name, "cohort_size": len(members), "customers_reached": len(reached),
                "pct_reached": pct(len(reached), len(members)), "customers_reached_within": len(within),
                "pct_reached_within": pct(len(within), len(members)), "is_complete": complete,
            })
    return rows


def _periods(first: datetime, last: datetime, grain: str) -> list[datetime]:
    """Period starts from the period holding ``first`` to the one holding ``last``."""
    out, start = [], period_start(first, grain)
    while start <= last:
        out.append(start)
        start = next_period(start, grain)
    return out


def kpi_trend(j: _Journey) -> list[dict]:
    grain = j.analysis.get("trend") or "week"
    moments = [t for cid in j.ids for t in j.reached[cid].values() if t is not None]
    if not moments:
        return []
    rows = []
    for m in j.milestones:
        times = [j.reached[cid][m.name] for cid in j.ids if j.reached[cid][m.name] is not None]
        for start in _periods(min(moments), j.as_of, grain):
            end = next_period(start, grain)
            rows.append({
                "journey": j.name, "milestone_index": m.index, "milestone": m.name, "period_start": start.date(),
                "newly_reached": sum(start <= t < end for t in times),
                "reached_to_date": sum(t < end for t in times),
            })
    return rows


def period_kpis(j: _Journey) -> list[dict]:
    rows = []
    for m in j.milestones:
        if m.per is None:
            continue
        qualified: dict[datetime, int] = {}
        for cid in j.ids:
            c = _Customer(j.milestones, j.order, j.events.get(cid, []), j.signed_up.get(cid), j.as_of)
            for start in sorted({period_start(e["occurred_at"], m.per) for e in c.events}):
                if c.period_qualifies(m.condition, m.per, m.streak, start):
                    qualified[start] = qualified.get(start, 0) + 1
        if not qualified:
            continue
        for start in _periods(min(qualified), j.as_of, m.per):
            rows.append({"journey": j.name, "milestone_index": m.index, "milestone": m.name, "per": m.per,
                         "period_start": start.date(), "customers_qualified": qualified.get(start, 0)})
    return rows


TABLES = {"segment_members": segment_members, "segment_funnel": segment_funnel, "success_gaps": success_gaps,
          "win_back": win_back, "cohort_funnel": cohort_funnel, "kpi_trend": kpi_trend, "period_kpis": period_kpis}


def evaluate_analysis(journey: dict, events: list[dict], customers: list[dict] | None, as_of: datetime,
                      core: dict[str, list[dict]] | None = None) -> dict[str, list[dict]]:
    """SPEC §4's seven tables for one journey (each sorted by its natural key, reading 12)."""
    if core is None:
        core = evaluate(journey, events, customers, as_of)
    j = _Journey(journey, events, customers, as_of, core)
    return {name: TABLES[name](j) for name in ANALYSIS_TABLES}


def evaluate_all(journey: dict, events: list[dict], customers: list[dict] | None,
                 as_of: datetime) -> dict[str, list[dict]]:
    """SPEC §3 and §4 tables together."""
    core = evaluate(journey, events, customers, as_of)
    return {**core, **evaluate_analysis(journey, events, customers, as_of, core)}
