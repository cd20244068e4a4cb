"""A slow, independent, pure-Python reference evaluator of the SPEC semantics (SPEC §2 and §3).

It exists so that property-based tests can compare the compiled SQL against it. It is written to be
read, not to be fast: a condition is modelled literally as "the set of moments at which it holds",
and a milestone's ``reached_at`` is found by trying every candidate moment in time order and asking
"does the condition hold at t, using only the customer's events at or before t?".

Why the candidate moments are enough: every condition's set of moments is a finite union of
half-open intervals ``[start, end)``, and every ``start`` is an event timestamp (the N-th matching
event, the N-th distinct value, the moment a per-period condition became true) or a milestone's
``reached_at`` (a ``{milestone: M}`` reference). The earliest moment of such a set that is ``>= lower``
is therefore either ``lower`` itself or one of those starts. Candidates = the customer's event
timestamps, the ``reached_at`` of every referenced milestone, the previous milestone's ``reached_at``
(sequential), and, for ``per`` milestones, the period starts of all of those (harmless extras).

Supported: event leaves (one name or a list, ``at_least``, mapping ``where`` over plain columns,
``distinct``), ``all``, ``any``, ``{milestone: M}``, ``per``/``streak`` and ``within`` given either on
the milestone or at the top of ``reached_when``, ``order: sequential | independent``. Not supported
(raises NotImplementedError): SQL-string ``where`` filters, JSON ``properties`` keys, ``columns``
mappings (events use ``customer_id``, ``event_name``, ``occurred_at`` directly).

Readings taken where SPEC can be read two ways
----------------------------------------------
1. Only events with non-null ``customer_id``, ``event_name`` and ``occurred_at`` and
   ``occurred_at <= as_of`` count, everywhere (also for "is the customer present"). A customer whose
   only events are after ``as_of`` is not present unless listed in ``customers``. Every non-null id
   of ``customers`` is present, even if it signed up after ``as_of``.
2. A customer listed several times in ``customers`` gets the earliest non-null ``signed_up_at``.
   ``customers=None`` (no source) and a customer missing from the list both give ``signed_up_at``
   NULL; then ``within: {of: signup}`` can never be met (status ``not_eligible``).
3. ``where`` (mapping form) uses SQL semantics: a NULL (or absent) column matches nothing, not even
   ``ne``. Several keys / several operators are ANDed. A NULL operand (``{col: null}``, or ``null``
   inside an ``in`` list) means ``IS NULL``, as ``clg_metrics.filters.build_mapping_filter`` does.
4. ``distinct: COL`` counts distinct non-null values of COL among the matching events (Python
   equality); the leaf holds from the first appearance of the N-th distinct value.
5. ``per``: periods are UTC calendar days, ISO weeks (Monday 00:00 to next Monday 00:00) and calendar
   months, each half-open ``[start, next start)``. Period p qualifies when the inner condition holds on
   p's events (those at or before ``as_of``) and also held on the whole event set of each of the
   K-1 calendar periods right before p (a sliding window: a run of 5 qualifying weeks with
   ``streak: 3`` makes weeks 3, 4 and 5 qualify). In a qualifying p the condition holds on
   ``[moment the inner condition became true counting only p's events, end of p)``.
6. Under ``sequential`` a ``per`` condition still counts all of a period's events, including those
   before the previous milestone's ``reached_at``: the previous milestone only bounds the moment
   (so a previous milestone reached in the middle of a qualifying period gives ``reached_at`` = the
   previous ``reached_at``; reached exactly at the period's end, i.e. the next period's start, it
   does not, unless the next period qualifies too).
7. "The previous milestone" (sequential gating, ``within: {of: previous}``) is the previous one in
   journey order, in both orders. Everything that uses another milestone's ``reached_at``
   (sequential gating, ``{milestone: M}``, ``within`` anchors) uses its *final* ``reached_at``,
   i.e. after its own sequential gating and ``within``. (This is the reading under which SPEC's
   "under sequential ``customers_reached`` never increases" holds.)
8. ``within`` only refuses a ``reached_at`` strictly later than ``anchor + D`` (D inclusive). A
   ``reached_at`` before the anchor (e.g. before signup) still counts. ``within`` is applied to the
   earliest moment only: when that one is too late, every later one is too.
9. ``reached_at`` is never after ``as_of`` (candidates after ``as_of`` are not tried).
10. Status, checked in this order: ``reached`` (``reached_at`` not NULL); ``not_eligible`` (sequential,
    not the first milestone, previous not reached; or a ``within`` anchor that is NULL/unreached);
    ``missed`` (``within`` and ``anchor + D < as_of``, strictly); else ``in_progress``. An unreached
    ``{milestone: M}`` reference alone does not make a customer ``not_eligible``.
11. ``current_milestone`` = reached milestone with the highest index, ``current_reached_at`` its
    ``reached_at`` (under ``independent`` not necessarily the latest ``reached_at``),
    ``next_milestone`` = the milestone right after it in journey order (NULL when it is the last,
    even if earlier milestones are unreached under ``independent``), the first when none is reached.
    ``days_since_progress`` = ``as_of - current_reached_at``.
12. Funnel: ``pct_of_first`` = 100 * reached / reached(milestone 1); ``pct_of_previous`` = 100 *
    reached / reached(previous); ``dropped_from_previous`` = reached(previous) - reached (may be
    negative under ``independent``); ``median_days_from_previous`` over customers who reached both
    this and the previous milestone, of ``reached_at - previous reached_at`` (may be negative under
    ``independent``). All NULL for milestone 1 except ``pct_of_first``.
13. Rounding: half away from zero to 2 decimals on the exact rational value; day figures use exact
    microseconds / 86_400_000_000. Results are returned as floats.
14. Rows are sorted by customer_id then milestone_index (milestone_status), customer_id
    (customer_progress), milestone_index (funnel). A journey without milestones gives no
    milestone_status / funnel rows and customer_progress rows with zero milestones reached.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

MODIFIERS = ("per", "streak", "within")
WITHIN_UNITS = ("days", "hours", "minutes", "seconds")


# ----------------------------------------------------------------------------- the journey


@dataclass(frozen=True)
class Milestone:
    index: int  # 1-based, journey order
    name: str
    phase: str
    kpi: str | None
    condition: dict  # reached_when without per / streak / within
    per: str | None
    streak: int
    within: dict | None
    previous: str | None  # previous milestone in journey order


def _milestones(journey: dict) -> list[Milestone]:
    out: list[Milestone] = []
    previous = None
    for phase in journey.get("phases") or []:
        for ms in phase.get("milestones") or []:
            condition = dict(ms["reached_when"])
            top = {key: condition.pop(key) for key in MODIFIERS if key in condition}

            def modifier(key):
                value = ms.get(key)
                return value if value is not None else top.get(key)

            out.append(Milestone(
                index=len(out) + 1,
                name=ms["milestone"],
                phase=phase["phase"],
                kpi=ms.get("kpi"),
                condition=condition,
                per=modifier("per"),
                streak=modifier("streak") or 1,
                within=modifier("within"),
                previous=previous,
            ))
            previous = ms["milestone"]
    return out


def _within_window(within: dict) -> timedelta:
    units = [u for u in WITHIN_UNITS if within.get(u) is not None]
    assert len(units) == 1, f"within needs exactly one unit: {within}"
    return timedelta(**{units[0]: within[units[0]]})


def _referenced_milestones(condition: dict) -> list[str]:
    if "milestone" in condition:
        return [condition["milestone"]]
    children = condition.get("all") or condition.get("any") or []
    return [name for child in children for name in _referenced_milestones(child)]


# ----------------------------------------------------------------------------- periods


def period_start(t: datetime, grain: str) -> datetime:
    day = datetime(t.year, t.month, t.day)
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())  # Monday = 0
    if grain == "month":
        return datetime(t.year, t.month, 1)
    raise ValueError(f"unknown period {grain!r}")


def next_period(start: datetime, grain: str) -> datetime:
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    return datetime(start.year + (start.month == 12), start.month % 12 + 1, 1)


def previous_period(start: datetime, grain: str) -> datetime:
    if grain == "day":
        return start - timedelta(days=1)
    if grain == "week":
        return start - timedelta(days=7)
    return datetime(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1)


# ----------------------------------------------------------------------------- filters and leaves


def _compare(value: Any, op: str, operand: Any) -> bool:
    if op == "in":
        if value is None:
            return any(o is None for o in operand)
        return any(o is not None and value == o for o in operand)
    if operand is None:  # only `{col: null}` (eq) can get here: IS NULL
        return value is None
    if value is None:  # SQL: NULL compared with anything is not true
        return False
    if op == "eq":
        return value == operand
    if op == "ne":
        return value != operand
    if op == "gt":
        return value > operand
    if op == "gte":
        return value >= operand
    if op == "lt":
        return value < operand
    if op == "lte":
        return value <= operand
    raise ValueError(f"unknown where operator {op!r}")


def matches_where(event: dict, where: Any) -> bool:
    if where is None:
        return True
    if not isinstance(where, dict):
        raise NotImplementedError("the reference evaluator supports only the mapping form of `where`")
    for column, condition in where.items():
        operators = condition if isinstance(condition, dict) else {"eq": condition}
        for op, operand in operators.items():
            if not _compare(event.get(column), op, operand):
                return False
    return True


def leaf_holds(leaf: dict, events: list[dict]) -> bool:
    """Does the event leaf hold on exactly these events (the caller chose which ones are visible)?"""
    names = leaf["event"] if isinstance(leaf["event"], list) else [leaf["event"]]
    matching = [e for e in events if e["event_name"] in names and matches_where(e, leaf.get("where"))]
    at_least = leaf.get("at_least", 1)
    column = leaf.get("distinct")
    if column is None:
        return len(matching) >= at_least
    values = []
    for e in matching:
        value = e.get(column)
        if value is not None and value not in values:
            values.append(value)
    return len(values) >= at_least


# ----------------------------------------------------------------------------- one customer


class _Customer:
    """Evaluates every milestone of one journey for one customer; milestones on demand (memoized),
    so references and anchors are evaluated first whatever the order of the journey."""

    def __init__(self, milestones: list[Milestone], order: str, events: list[dict],
                 signed_up_at: datetime | None, as_of: datetime):
        self.by_name = {m.name: m for m in milestones}
        self.order = order
        self.events = sorted(events, key=lambda e: e["occurred_at"])
        self.signed_up_at = signed_up_at
        self.as_of = as_of
        self._reached: dict[str, datetime | None] = {}
        self._in_progress: set[str] = set()

    # -- reached_at -------------------------------------------------------------------

    def reached_at(self, name: str) -> datetime | None:
        if name not in self._reached:
            if name in self._in_progress:
                raise ValueError(f"cycle of milestone references through {name!r}")
            self._in_progress.add(name)
            self._reached[name] = self._compute(self.by_name[name])
            self._in_progress.discard(name)
        return self._reached[name]

    def previous_reached_at(self, m: Milestone) -> datetime | None:
        return None if m.previous is None else self.reached_at(m.previous)

    def anchor(self, m: Milestone) -> datetime | None:
        of = m.within["of"]
        if of == "signup":
            return self.signed_up_at
        if of == "previous":
            return self.previous_reached_at(m)
        return self.reached_at(of)

    def deadline(self, m: Milestone) -> datetime | None:
        anchor = self.anchor(m)
        return None if anchor is None else anchor + _within_window(m.within)

    def _compute(self, m: Milestone) -> datetime | None:
        lower = None
        if self.order == "sequential" and m.previous is not None:
            lower = self.previous_reached_at(m)
            if lower is None:
                return None
        reached = None
        for t in self._candidates(m, lower):
            if (lower is None or t >= lower) and t <= self.as_of and self.milestone_holds(m, t):
                reached = t
                break
        if reached is not None and m.within is not None:
            deadline = self.deadline(m)
            if deadline is None or reached > deadline:
                reached = None
        return reached

    def _candidates(self, m: Milestone, lower: datetime | None) -> list[datetime]:
        moments = {e["occurred_at"] for e in self.events}
        for ref in _referenced_milestones(m.condition):
            if self.reached_at(ref) is not None:
                moments.add(self.reached_at(ref))
        if lower is not None:
            moments.add(lower)
        if m.per is not None:
            moments |= {period_start(t, m.per) for t in moments}
        return sorted(moments)

    # -- does a condition hold at moment t? -------------------------------------------

    def milestone_holds(self, m: Milestone, t: datetime) -> bool:
        if m.per is None:
            return self.holds(m.condition, t, self.events)
        return self.per_holds(m.condition, m.per, m.streak, t)

    def holds(self, condition: dict, t: datetime, events: list[dict]) -> bool:
        """Does ``condition`` hold at moment t, counting only those of ``events`` at or before t?"""
        if "event" in condition:
            return leaf_holds(condition, [e for e in events if e["occurred_at"] <= t])
        if "all" in condition:
            return all(self.holds(child, t, events) for child in condition["all"])
        if "any" in condition:
            return any(self.holds(child, t, events) for child in condition["any"])
        if "milestone" in condition:
            reached = self.reached_at(condition["milestone"])
            return reached is not None and reached <= t
        raise ValueError(f"not a condition: {condition!r}")

    def events_in(self, start: datetime, grain: str) -> list[dict]:
        end = next_period(start, grain)
        return [e for e in self.events if start <= e["occurred_at"] < end]

    def per_holds(self, condition: dict, grain: str, streak: int, t: datetime) -> bool:
        start = period_start(t, grain)
        # in t's own period: true from the moment the inner condition became true on p's events
        if not self.holds(condition, t, self.events_in(start, grain)):
            return False
        # and the inner condition held on the whole of each of the streak-1 periods before
        return streak == 1 or self.period_qualifies(condition, grain, streak - 1, previous_period(start, grain))

    def period_qualifies(self, condition: dict, grain: str, streak: int, start: datetime) -> bool:
        """Does the period starting at ``start`` end a run of ``streak`` periods in each of which the
        inner condition held on that period's events (at or before as_of) alone? (reading 5)"""
        for _ in range(streak):
            if not self.holds(condition, self.as_of, self.events_in(start, grain)):
                return False
            start = previous_period(start, grain)
        return True


# ----------------------------------------------------------------------------- numbers


def round2(x: Fraction) -> float:
    """Round half away from zero to two decimals, on the exact value."""
    sign = -1 if x < 0 else 1
    hundredths = int(abs(Fraction(x)) * 100 + Fraction(1, 2))  # floor of a non-negative number
    return float(sign * Fraction(hundredths, 100))


def days(delta: timedelta) -> Fraction:
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return Fraction(micros, 86_400 * 1_000_000)


def pct(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round2(Fraction(100 * numerator, denominator))


def median(values: list[Fraction]) -> Fraction:
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


# ----------------------------------------------------------------------------- the outputs


def evaluate(journey: dict, events: list[dict], customers: list[dict] | None,
             as_of: datetime) -> dict[str, list[dict]]:
    """SPEC §3 ``milestone_status``, ``customer_progress`` and ``funnel`` rows for one journey."""
    name = journey["journey"]
    order = journey.get("order") or "sequential"
    milestones = _milestones(journey)

    by_customer = counted_events(events, as_of)
    signed_up = signups(customers)
    customer_ids = sorted(set(by_customer) | set(signed_up))

    status_rows: list[dict] = []
    progress_rows: list[dict] = []
    reached: dict[Any, dict[str, datetime | None]] = {}
    for cid in customer_ids:
        c = _Customer(milestones, order, by_customer.get(cid, []), signed_up.get(cid), as_of)
        reached[cid] = {m.name: c.reached_at(m.name) for m in milestones}
        for m in milestones:
            status_rows.append({
                "journey": name,
                "customer_id": cid,
                "phase": m.phase,
                "milestone": m.name,
                "milestone_index": m.index,
                "kpi": m.kpi,
                "reached_at": reached[cid][m.name],
                "is_reached": reached[cid][m.name] is not None,
                "status": _status(c, m, order, as_of),
            })
        got = [m for m in milestones if reached[cid][m.name] is not None]
        current = got[-1] if got else None
        if current is None:
            following = milestones[0] if milestones else None
        else:
            following = milestones[current.index] if current.index < len(milestones) else None
        current_at = reached[cid][current.name] if current else None
        progress_rows.append({
            "journey": name,
            "customer_id": cid,
            "signed_up_at": signed_up.get(cid),
            "milestones_reached": len(got),
            "current_milestone": current.name if current else None,
            "current_phase": current.phase if current else None,
            "current_reached_at": current_at,
            "next_milestone": following.name if following else None,
            "days_since_progress": round2(days(as_of - current_at)) if current_at is not None else None,
        })

    funnel = funnel_rows(name, milestones, reached, customer_ids)
    return {"milestone_status": status_rows, "customer_progress": progress_rows, "funnel": funnel}


def counted_events(events: list[dict], as_of: datetime) -> dict[Any, list[dict]]:
    """The events that count (reading 1), by customer_id."""
    by_customer: dict[Any, list[dict]] = defaultdict(list)
    for e in events:
        if e.get("customer_id") is None or e.get("event_name") is None or e.get("occurred_at") is None:
            continue
        if e["occurred_at"] <= as_of:
            by_customer[e["customer_id"]].append(e)
    return by_customer


def signups(customers: list[dict] | None) -> dict[Any, datetime | None]:
    """Every non-null customer id of ``customers`` with its earliest non-null signed_up_at (reading 2)."""
    signed_up: dict[Any, datetime | None] = {}
    for c in customers or []:
        cid = c.get("customer_id")
        if cid is None:
            continue
        s = c.get("signed_up_at")
        if cid not in signed_up or (s is not None and (signed_up[cid] is None or s < signed_up[cid])):
            signed_up[cid] = s
    return signed_up


def funnel_rows(name: str, milestones: list[Milestone], reached: dict[Any, dict[str, datetime | None]],
                customer_ids: list) -> list[dict]:
    """SPEC §3 ``funnel`` over the given customers (reading 12); ``reached[cid][milestone]``."""
    rows: list[dict] = []
    counts = [sum(reached[cid][m.name] is not None for cid in customer_ids) for m in milestones]
    for i, m in enumerate(milestones):
        row = {
            "journey": name,
            "milestone_index": m.index,
            "phase": m.phase,
            "milestone": m.name,
            "kpi": m.kpi,
            "customers_reached": counts[i],
            "pct_of_first": pct(counts[i], counts[0]),
            "pct_of_previous": None,
            "dropped_from_previous": None,
            "median_days_from_previous": None,
        }
        if i > 0:
            prev = milestones[i - 1]
            gaps = [days(reached[cid][m.name] - reached[cid][prev.name]) for cid in customer_ids
                    if reached[cid][m.name] is not None and reached[cid][prev.name] is not None]
            row["pct_of_previous"] = pct(counts[i], counts[i - 1])
            row["dropped_from_previous"] = counts[i - 1] - counts[i]
            row["median_days_from_previous"] = round2(median(gaps)) if gaps else None
        rows.append(row)
    return rows


def _status(c: _Customer, m: Milestone, order: str, as_of: datetime) -> str:
    if c.reached_at(m.name) is not None:
        return "reached"
    if order == "sequential" and m.previous is not None and c.reached_at(m.previous) is None:
        return "not_eligible"
    if m.within is not None:
        deadline = c.deadline(m)
        if deadline is None:
            return "not_eligible"
        if deadline < as_of:
            return "missed"
    return "in_progress"
