"""Hypothesis strategies for random journeys and data sets (for comparing the SQL against
``tests/reference_evaluator.py``).

- ``journeys(customers_source=None)``: a valid SPEC §2 journey as a plain dict (what
  ``yaml.safe_load`` gives). With ``customers_source=True`` it has a ``customers:`` source (and may
  anchor ``within`` on ``signup``); with ``False`` it has none; ``None`` draws either.
- ``datasets(with_customers=None)``: ``(events, customers, as_of)``; ``customers`` is ``None`` when
  there is no customers table, else a list (maybe empty).
- ``scenarios()``: ``(journey, events, customers, as_of)`` with the two kept consistent (a journey has
  a ``customers:`` source exactly when ``customers`` is a list).
- ``scenarios(with_analysis=True)``: the same plus SPEC §4: random ``segments:`` (every segment
  condition kind, nested ``all``/``any``/``not``) and ``analysis:`` settings; customers rows then
  also carry ``plan`` (free | pro | None). Opt-in: without it the draws are exactly as before.

Events have the columns ``customer_id`` (int), ``event_name`` (str), ``occurred_at`` (naive UTC
datetime, whole seconds; habit series may run past the window), ``format`` (csv | pdf | None) and
``value`` (x | y | z | None); customers have ``customer_id`` and ``signed_up_at`` (naive datetime or
None). The source tables are named ``events`` and ``customers``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from hypothesis import strategies as st

EVENT_NAMES = ["a", "b", "c", "d"]
FORMATS = ["csv", "pdf", None]
VALUES = ["x", "y", "z", None]
GRAINS = ["day", "week", "month"]

CENTER = datetime(2024, 3, 1)  # a Friday; 2024 is a leap year
WINDOW_START = CENTER - timedelta(weeks=5)
WINDOW_END = CENTER + timedelta(weeks=5)
# moments on or next to period boundaries: day, ISO week (Sun -> Mon), month (leap day -> March)
BOUNDARIES = [
    datetime(2024, 2, 29, 23, 59, 59),
    datetime(2024, 3, 1, 0, 0, 0),
    datetime(2024, 3, 3, 23, 59, 59),  # Sunday
    datetime(2024, 3, 4, 0, 0, 0),  # Monday
    datetime(2024, 3, 10, 12, 0, 0),  # Sunday
    datetime(2024, 3, 11, 0, 0, 0),  # Monday
    datetime(2024, 3, 31, 23, 59, 59),
    datetime(2024, 4, 1, 0, 0, 0),  # Monday and first of month
    datetime(2024, 1, 31, 23, 0, 0),
    datetime(2024, 2, 1, 0, 0, 0),
]

EVENTS_TABLE = "events"
CUSTOMERS_TABLE = "customers"


# ----------------------------------------------------------------------------- journeys


# Strategies are built once and reused (building new strategy objects on every draw is slow).
_NAMES = st.lists(st.sampled_from(EVENT_NAMES), min_size=1, max_size=2, unique=True)
_AT_LEAST = st.sampled_from([1, 1, 2, 3])
_WHERES = st.sampled_from([None, None, "csv", "csv_or_pdf"])
_GRAINS = st.sampled_from([None, None, *GRAINS])
_STREAKS = st.sampled_from([None, 1, 2, 3])
_UNITS = st.sampled_from(["days", "days", "days", "hours"])
_ORDERS = st.sampled_from(["sequential", "independent", None])
_JOURNEY_NAMES = st.sampled_from(["j", "audience_research", "j2"])
_FORMATS = st.sampled_from(FORMATS)
_VALUES = st.sampled_from(VALUES)
_EVENT_NAMES = st.sampled_from(EVENT_NAMES)
_BOUNDARIES = st.sampled_from(BOUNDARIES)
_MIN_MOMENTS = st.sampled_from([1, 4, 10])
_MIN_SERIES = st.sampled_from([0, 1, 2])
_MIN_EVENTS = st.sampled_from([0, 8, 20, 30])
_STEPS = st.sampled_from([timedelta(hours=20), timedelta(days=1), timedelta(days=1), timedelta(days=3),
                          timedelta(days=7), timedelta(days=7), timedelta(days=20), timedelta(days=31)])
_SPREADS = st.sampled_from([timedelta(days=3), timedelta(days=16), WINDOW_END - WINDOW_START])


@st.composite
def _event_leaves(draw) -> dict:
    names = draw(_NAMES)
    leaf: dict = {"event": names[0] if len(names) == 1 and draw(st.booleans()) else names}
    at_least = draw(_AT_LEAST)
    if at_least != 1 or draw(st.booleans()):
        leaf["at_least"] = at_least
    where = draw(_WHERES)  # fresh dicts each time: callers may mutate what they get
    if where == "csv":
        leaf["where"] = {"format": "csv"}
    elif where == "csv_or_pdf":
        leaf["where"] = {"format": {"in": ["csv", "pdf"]}}
    if draw(st.integers(0, 3)) == 0:
        leaf["distinct"] = "value"
    return leaf


_LEAVES = _event_leaves()


def event_leaves() -> st.SearchStrategy[dict]:
    return _LEAVES


def conditions(earlier: list[str] | tuple[str, ...], depth: int = 2) -> st.SearchStrategy[dict]:
    """A condition; ``{milestone: M}`` only for M in ``earlier`` (pass () inside ``per``)."""
    return _conditions(tuple(earlier), depth)


@lru_cache(maxsize=None)
def _conditions(earlier: tuple[str, ...], depth: int) -> st.SearchStrategy[dict]:
    base = _LEAVES
    if earlier:
        base = st.one_of(base, base, st.sampled_from(earlier).map(lambda m: {"milestone": m}))
    if depth == 0:
        return base
    children = st.lists(_conditions(earlier, depth - 1), min_size=1, max_size=3)
    return st.one_of(
        base,
        base,
        children.map(lambda cs: {"all": cs}),
        children.map(lambda cs: {"any": cs}),
    )


def _within(draw, position: int, earlier: list[str], customers_source: bool) -> dict | None:
    anchors = list(earlier)
    if position > 0:
        anchors.append("previous")
    if customers_source:
        anchors.append("signup")
    if not anchors or draw(st.integers(0, 2)) != 0:
        return None
    unit = draw(_UNITS)
    amount = draw(st.integers(0, 10)) if unit == "days" else draw(st.integers(0, 240))
    return {unit: amount, "of": anchors[draw(st.integers(0, len(anchors) - 1))]}


def _milestone(draw, position: int, earlier: list[str], customers_source: bool) -> dict:
    name = f"m{position + 1}"
    per = draw(_GRAINS)
    # inside `per`: no milestone references, and at most one level of all/any (else rarely met)
    condition = draw(conditions((), depth=1) if per else conditions(earlier))
    modifiers: dict = {}
    if per:
        modifiers["per"] = per
        streak = draw(_STREAKS)
        if streak is not None:
            modifiers["streak"] = streak
    within = _within(draw, position, earlier, customers_source)
    if within is not None:
        modifiers["within"] = within
    milestone: dict = {"milestone": name}
    if draw(st.booleans()):
        milestone["kpi"] = f"KPI {name}"
    # modifiers either all on the milestone or all at the top of reached_when
    if modifiers and draw(st.booleans()):
        milestone["reached_when"] = {**condition, **modifiers}
    else:
        milestone["reached_when"] = condition
        milestone.update(modifiers)
    return milestone


@st.composite
def journeys(draw, customers_source: bool | None = None, with_analysis: bool = False) -> dict:
    if customers_source is None:
        customers_source = draw(st.booleans())
    count = draw(st.integers(1, 4))
    ms: list[dict] = []
    for position in range(count):
        ms.append(_milestone(draw, position, [m["milestone"] for m in ms], customers_source))
    # split the milestones into 1-2 phases, in order
    cut = draw(st.integers(1, count))
    phases = [{"phase": "struggle", "milestones": ms[:cut]}]
    if cut < count:
        phases.append({"phase": "growth", "milestones": ms[cut:]})
    journey: dict = {"journey": draw(_JOURNEY_NAMES)}
    journey["events"] = {"from": EVENTS_TABLE}
    if customers_source:
        journey["customers"] = {"from": CUSTOMERS_TABLE}
    order = draw(_ORDERS)
    if order is not None:
        journey["order"] = order
    journey["phases"] = phases
    if with_analysis:
        _add_analysis(draw, journey, [m["milestone"] for m in ms], customers_source)
    return journey


# ----------------------------------------------------------------------------- SPEC §4: segments, analysis

PLANS = ["free", "pro", None]
STATUSES = [None, "reached", "in_progress", "missed", "not_eligible"]
_PLANS = st.sampled_from(PLANS)
_CUSTOMER_FILTERS = st.sampled_from([
    lambda: {"plan": "pro"}, lambda: {"plan": "free"}, lambda: {"plan": None},
    lambda: {"plan": {"in": ["pro", "free"]}}, lambda: {"plan": {"ne": "free"}},
]).map(lambda make: make())  # fresh dicts each time
_DAYS_AGO = st.sampled_from([0, 1, 7, 14, 30, 45.5, 60])
_BOUND_OPS = st.lists(st.sampled_from(["gte", "gt", "lte", "lt"]), min_size=1, max_size=2, unique=True)
_AT_MOST = st.sampled_from([None, None, 0, 1, 2, 5])
_IN_LAST = st.sampled_from([None, None, ("days", 3), ("days", 14), ("days", 40), ("hours", 36), ("hours", 1000)])


@st.composite
def _segment_leaves(draw) -> dict:
    names = draw(_NAMES)
    leaf: dict = {"event": names[0] if len(names) == 1 and draw(st.booleans()) else names}
    at_most = draw(_AT_MOST)
    if at_most is not None:
        leaf["at_most"] = at_most
    if at_most is None or draw(st.booleans()):
        at_least = draw(st.sampled_from([1, 1, 2, 3]) if at_most is None else st.integers(0, at_most))
        if at_least != (1 if at_most is None else 0) or draw(st.booleans()):
            leaf["at_least"] = at_least
    in_last = draw(_IN_LAST)
    if in_last is not None:
        leaf["in_last"] = {in_last[0]: in_last[1]}
    where = draw(_WHERES)
    if where == "csv":
        leaf["where"] = {"format": "csv"}
    elif where == "csv_or_pdf":
        leaf["where"] = {"format": {"in": ["csv", "pdf"]}}
    if draw(st.integers(0, 3)) == 0:
        leaf["distinct"] = "value"
    return leaf


@st.composite
def _signed_up(draw) -> dict:
    ops = draw(_BOUND_OPS)
    return {"signed_up": {"days_ago": {op: draw(_DAYS_AGO) for op in ops}}}


@lru_cache(maxsize=None)
def _segment_conditions(milestones: tuple[str, ...], customers_source: bool, depth: int) -> st.SearchStrategy[dict]:
    base = [_segment_leaves(), _segment_leaves()]
    if milestones:
        def status_leaf(pair):
            name, status = pair
            return {"milestone": name} if status is None else {"milestone": name, "status": status}
        base.append(st.tuples(st.sampled_from(milestones), st.sampled_from(STATUSES)).map(status_leaf))
    if customers_source:
        base.append(_CUSTOMER_FILTERS.map(lambda f: {"customer": f}))
        base.append(_signed_up())
    leaf = st.one_of(*base)
    if depth == 0:
        return leaf
    inner = _segment_conditions(milestones, customers_source, depth - 1)
    children = st.lists(inner, min_size=1, max_size=3)
    return st.one_of(leaf, leaf, children.map(lambda cs: {"all": cs}), children.map(lambda cs: {"any": cs}),
                     inner.map(lambda c: {"not": c}))


def segment_conditions(milestones, customers_source: bool, depth: int = 2) -> st.SearchStrategy[dict]:
    """A SPEC §4 segment condition over these milestones (``customer:``/``signed_up`` only with a
    customers source)."""
    return _segment_conditions(tuple(milestones), customers_source, depth)


def _add_analysis(draw, journey: dict, milestones: list[str], customers_source: bool) -> None:
    count = draw(st.sampled_from([0, 1, 2, 2, 3]))
    names = [f"s{i + 1}" for i in range(count)]
    if names:
        journey["segments"] = []
        for name in names:
            segment: dict = {"segment": name}
            if draw(st.integers(0, 3)) == 0:
                segment["description"] = f"segment {name}"
            segment["when"] = draw(segment_conditions(milestones, customers_source))
            journey["segments"].append(segment)
    analysis: dict = {}
    if names and draw(st.booleans()):
        analysis["benchmark"] = draw(st.sampled_from(names))
    if draw(st.booleans()):
        cohorts: dict = {}
        if draw(st.booleans()):
            cohorts["per"] = draw(st.sampled_from(["week", "month"]))
        if draw(st.booleans()):
            unit = draw(st.sampled_from(["days", "days", "hours", "minutes", "seconds"]))
            top = {"days": 40, "hours": 1000, "minutes": 20_000, "seconds": 1_000_000}[unit]
            cohorts["within"] = {unit: draw(st.integers(0, top))}
        analysis["cohorts"] = cohorts
    if draw(st.booleans()):
        analysis["trend"] = draw(st.sampled_from(GRAINS))
    if draw(st.booleans()):
        analysis["win_back"] = {"inactive_days": draw(st.sampled_from([0, 1, 3, 7, 14, 30]))}
    if analysis.get("cohorts") == {}:
        del analysis["cohorts"]
    if analysis or draw(st.integers(0, 5)) == 0:  # sometimes `analysis: {}`: every key has a default
        journey["analysis"] = analysis


# ----------------------------------------------------------------------------- data


@lru_cache(maxsize=None)
def _fresh_moments(lo: datetime, hi: datetime) -> st.SearchStrategy[datetime]:
    """A moment in [lo, hi]: a period boundary, a whole hour, or any whole second."""
    seconds = int((hi - lo).total_seconds())
    return st.one_of(
        _BOUNDARIES,
        st.integers(0, seconds // 3600).map(lambda h: lo + timedelta(hours=h)),
        st.integers(0, seconds).map(lambda s: lo + timedelta(seconds=s)),
    )


@lru_cache(maxsize=None)
def _event_rows(n_moments: int, n_customers: int, min_size: int, max_size: int) -> st.SearchStrategy[list[tuple]]:
    row = st.tuples(st.integers(0, n_moments - 1), st.integers(1, n_customers), _EVENT_NAMES, _FORMATS, _VALUES)
    return st.lists(row, min_size=min(min_size, max_size), max_size=max_size)


@lru_cache(maxsize=None)
def _series(n_moments: int, n_customers: int, min_size: int) -> st.SearchStrategy[list[tuple]]:
    """Regular habits, so that streaks of consecutive days / weeks / months actually happen: one
    customer does one event `burst` times (a minute apart) every `step`, `count` times.
    Tuples (start moment, customer, name, step, count, burst, format). Values cycle x, y, z (so
    `distinct` can be met); formats are csv or pdf (so `where` can be met)."""
    one = st.tuples(st.integers(0, n_moments - 1), st.integers(1, n_customers), _EVENT_NAMES, _STEPS,
                    st.integers(2, 8), st.integers(1, 3), st.sampled_from(["csv", "csv", "pdf"]))
    return st.lists(one, min_size=min_size, max_size=3)


@lru_cache(maxsize=None)
def _customer_rows(n_moments: int, n_customers: int, lo: datetime, hi: datetime) -> st.SearchStrategy:
    # signed_up_at: NULL, one of the event moments (a tie), or a fresh moment (maybe before the events)
    signed = st.one_of(st.none(), st.integers(0, n_moments - 1), _fresh_moments(lo - timedelta(days=10), hi))
    # ids up to n_customers + 2: some customers without events; duplicates allowed
    return st.lists(st.tuples(st.integers(1, n_customers + 2), signed), max_size=n_customers + 2)


@st.composite
def datasets(draw, with_customers: bool | None = None, with_plan: bool = False):
    """``(events, customers, as_of)``.

    Event times are drawn from a small pool of moments, so exact ties are common; the pool mixes
    period boundaries (day, Sunday/Monday, month ends) with fresh moments, in either a dense cluster
    (streaks become likely) or the whole ~10-week window around 2024-03-01.
    """
    spread = draw(_SPREADS)
    lo = max(WINDOW_START, [WINDOW_START, CENTER - timedelta(days=8), CENTER - spread / 2][draw(st.integers(0, 2))])
    hi = min(WINDOW_END, lo + spread)
    # hypothesis favours short lists: a drawn lower bound keeps larger data sets common
    moments = draw(st.lists(_fresh_moments(lo, hi), min_size=draw(_MIN_MOMENTS), max_size=20))
    n_customers = draw(st.integers(1, 5))
    events = [
        {"customer_id": cid, "event_name": name, "occurred_at": moments[i] + step * k + timedelta(minutes=b),
         "format": fmt, "value": "xyz"[(k + b) % 3]}
        for i, cid, name, step, count, burst, fmt in draw(_series(len(moments), n_customers, draw(_MIN_SERIES)))
        for k in range(count)
        for b in range(burst)
    ][:40]
    rows = draw(_event_rows(len(moments), n_customers, draw(_MIN_EVENTS), 40 - len(events)))
    events += [
        {"customer_id": cid, "event_name": name, "occurred_at": moments[i], "format": fmt, "value": value}
        for i, cid, name, fmt, value in rows
    ]

    if with_customers is None:
        with_customers = draw(st.booleans())
    customers = None
    if with_customers:
        customers = [
            {"customer_id": cid, "signed_up_at": moments[s] if isinstance(s, int) else s}
            for cid, s in draw(_customer_rows(len(moments), n_customers, lo, hi))
        ]
        if with_plan:
            for row in customers:
                row["plan"] = draw(_PLANS)

    as_of_kind = draw(st.integers(0, 3))
    if as_of_kind == 0:
        as_of = moments[draw(st.integers(0, len(moments) - 1))]  # maybe an event exactly at as_of
    elif as_of_kind == 1:
        as_of = WINDOW_END + timedelta(days=draw(st.integers(1, 60)))  # after everything
    else:
        as_of = draw(_fresh_moments(lo, hi + timedelta(days=2)))  # may cut events and periods off
    return events, customers, as_of


@st.composite
def scenarios(draw, with_analysis: bool = False):
    """``(journey, events, customers, as_of)``, consistent about the customers source; with
    ``with_analysis`` the journey has random SPEC §4 segments / analysis and customers a plan."""
    journey = draw(journeys(with_analysis=with_analysis))
    events, customers, as_of = draw(datasets(with_customers="customers" in journey, with_plan=with_analysis))
    return journey, events, customers, as_of
