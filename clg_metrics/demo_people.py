"""The simulated people of the demo data (see ``demo_data``): who visits, who starts a trial, who
gets to value, and the events each one leaves, as plain Python with one seeded random stream.

Kept apart from ``demo_data.py``, which assembles and writes the seed files and is the CLI.
"""


from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import accumulate

EVENT_NAMES: tuple[str, ...] = (
    "page_view",
    "trial_started",
    "search",
    "list_created",
    "export",
    "login",
    "upgrade",
    "review",
    "referral",
    "support_ticket",
)
PLANS: tuple[str, ...] = ("free", "pro", "agency")
CHANNELS: tuple[str, ...] = ("organic", "paid", "referral", "partner")
EXPORT_FORMATS: tuple[str, ...] = ("csv", "xlsx", "pdf")
EVENTS_HEADER: tuple[str, ...] = ("event_id", "user_id", "event", "ts", "properties")
CUSTOMERS_HEADER: tuple[str, ...] = ("user_id", "created_at", "plan", "channel")
EVENTS_FILE = "raw_events.csv"
CUSTOMERS_FILE = "raw_customers.csv"

# Time is kept as whole seconds since 2024-01-01 00:00:00 UTC (a Monday, so Monday-based week
# numbers are plain integer division). 2024 is a leap year: 366 days.
_START = datetime(2024, 1, 1)
_MINUTE = 60
_HOUR = 3_600
_DAY = 86_400
_WEEK = 7 * _DAY
_YEAR_END = 366 * _DAY  # exclusive: 2025-01-01 00:00:00
_MONTH_STARTS: tuple[int, ...] = tuple(
    int((datetime(2024, month, 1) - _START).total_seconds()) for month in range(1, 13)
) + (_YEAR_END,)

# Destination stages, in the demo journey's milestone order (index 0 = only a website visit).
_VISITOR, _INTEREST, _FIRST_VALUE, _REALIZATION, _CONTINUED, _HABIT, _GROWTH = range(7)
# Shares of visitors per destination (tuned by measuring the funnel). The funnel aimed for is about
# 35 / 15 / 8 / 4 / 2.5 / 1 % of visitors from interest to value growth; the deep stages are set
# a little above their share because people who arrive late in the year run out of year.
_STAGE_WEIGHTS: tuple[float, ...] = (64.5, 20.8, 6.2, 4.8, 1.3, 1.1, 1.3)

# Hour-of-day weights (UTC): agencies work office hours, spread over a few time zones.
_HOUR_WEIGHTS: tuple[int, ...] = (
    1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 10, 9, 10, 10, 9, 8, 6, 5, 4, 3, 2, 2, 1,
)  # fmt: skip
_HOURS = range(24)
_HOUR_CUM: tuple[int, ...] = tuple(accumulate(_HOUR_WEIGHTS))  # same draws as weights=, less work
_EXPORT_WEIGHTS: tuple[int, ...] = (62, 26, 12)  # csv is the format most people want

_AUDIENCES: tuple[str, ...] = (
    "gen z gamers", "new parents", "women's football fans", "b2b marketers", "vegan foodies",
    "urban cyclists", "remote workers", "sneakerheads", "k-pop fans", "small business owners",
    "crypto investors", "home bakers", "marathon runners", "diy renovators", "dog owners",
    "university students", "active retirees", "eco-conscious shoppers", "luxury travellers",
    "indie musicians", "esports fans", "craft beer drinkers", "skincare enthusiasts",
    "first-time home buyers", "hr leaders", "saas founders", "anime fans", "weekend anglers",
)  # fmt: skip
_TOPICS: tuple[str, ...] = (
    "", "podcasts", "newsletters", "subreddits", "youtube channels", "tiktok creators",
    "instagram accounts", "magazines", "events", "discord servers", "blogs",
)  # fmt: skip


@dataclass
class _Person:
    """One visitor (and maybe customer) while their events are being built."""

    index: int
    stage: int
    arrival: int
    intensity: float = 1.0
    signup: int | None = None  # trial start, in seconds
    created_at: int | None = None  # the customers row's created_at (signup, or earlier)
    plan: str = "free"
    channel: str = "organic"
    audiences: tuple[str, ...] = ()
    events: list[tuple[int, int, str, str]] = field(default_factory=list)  # (t, seq, name, props)

    def add(self, t: int, name: str, properties: dict[str, str] | None = None) -> None:
        """Record an event; events after the end of 2024 are dropped (the year ends first)."""
        if 0 <= t < _YEAR_END:
            props = _properties_json(tuple(sorted(properties.items()))) if properties else "{}"
            self.events.append((t, len(self.events), name, props))

    def first_moment(self) -> int:
        moments = [t for t, _, _, _ in self.events]
        if self.created_at is not None:
            moments.append(self.created_at)
        return min(moments)


# --------------------------------------------------------------------------------------- helpers


@lru_cache(maxsize=4096)
def _properties_json(items: tuple[tuple[str, str], ...]) -> str:
    """Compact JSON with sorted keys; cached, as the same few property sets repeat all year."""
    return json.dumps(dict(items), separators=(",", ":"), sort_keys=True)


def _poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth's method; a rounded normal for large means) from ``rng`` only."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _moment_between(rng: random.Random, lo: int, hi: int) -> int:
    """A moment in ``[lo, hi)``, preferring office hours so timestamps look like real work."""
    if hi <= lo + 1:
        return lo
    first_day, last_day = lo // _DAY, (hi - 1) // _DAY
    for _ in range(4):
        day = rng.randint(first_day, last_day)
        t = day * _DAY + rng.choices(_HOURS, cum_weights=_HOUR_CUM)[0] * _HOUR + rng.randrange(_HOUR)
        if lo <= t < hi:
            return t
    return rng.randrange(lo, hi)


def _arrival(rng: random.Random) -> int:
    """First visit: linearly growing traffic (about 2.6x from January to December), quieter
    weekends and office hours."""
    growth = 1.6
    while True:
        u = rng.random()
        x = (-1.0 + math.sqrt(1.0 + 2.0 * growth * u * (1.0 + growth / 2.0))) / growth
        day = min(int(x * 366), 365)
        if day % 7 >= 5 and rng.random() < 0.45:  # 2024-01-01 is a Monday
            continue
        return _moment_between(rng, day * _DAY, (day + 1) * _DAY)


def _month_of(t: int) -> int:
    """0-based calendar month of a moment in 2024."""
    month = 0
    while _MONTH_STARTS[month + 1] <= t:
        month += 1
    return month


def _query(rng: random.Random, person: _Person) -> dict[str, str]:
    """A search's properties: mostly the client's audiences, sometimes a wander, rarely blank."""
    if rng.random() < 0.03:
        return {}
    audience = rng.choice(person.audiences) if rng.random() < 0.75 else rng.choice(_AUDIENCES)
    topic = rng.choice(_TOPICS)
    return {"query": f"{audience} {topic}".strip()}


def _export_formats(rng: random.Random, n: int) -> list[str]:
    return rng.choices(EXPORT_FORMATS, _EXPORT_WEIGHTS, k=n) if n > 0 else []


def _place_work(
    rng: random.Random,
    person: _Person,
    anchors: list[int],
    hi: int,
    searches: int,
    lists: int,
    exports: Sequence[str],
) -> None:
    """Put searches, lists and exports into sessions that start at ``anchors`` (logins or the
    trial start); nothing spills past ``hi`` so calendar-month counts stay as planned."""
    for _ in range(searches):
        person.add(min(rng.choice(anchors) + rng.randint(15, 30 * _MINUTE), hi - 1), "search",
                   _query(rng, person))  # fmt: skip
    for _ in range(lists):
        person.add(min(rng.choice(anchors) + rng.randint(2 * _MINUTE, 45 * _MINUTE), hi - 1),
                   "list_created")  # fmt: skip
    for fmt in exports:
        person.add(min(rng.choice(anchors) + rng.randint(5 * _MINUTE, 60 * _MINUTE), hi - 1),
                   "export", {"format": fmt})  # fmt: skip


def _logins_between(rng: random.Random, person: _Person, lo: int, hi: int, n: int) -> list[int]:
    times = sorted(_moment_between(rng, lo, hi) for _ in range(n)) if hi > lo else []
    for t in times:
        person.add(t, "login")
    return [t for t in times if t < _YEAR_END]


# ------------------------------------------------------------------------------------- the story


def _first_visit(rng: random.Random, person: _Person, n_views: int) -> int:
    """Page views of the first visit(s); returns the moment of the last one."""
    t = person.arrival
    for i in range(n_views):
        if i:
            if rng.random() < 0.75:
                t += rng.randint(20, 10 * _MINUTE)  # same session
            else:
                t = _moment_between(rng, t + _DAY, t + 21 * _DAY)  # came back another day
        person.add(t, "page_view")
    return t


def _visitor(rng: random.Random, person: _Person) -> None:
    """Most people: one to three page views, no trial (a few browse longer)."""
    n = rng.choices((1, 2, 3), (55, 30, 15))[0]
    if rng.random() < 0.05:
        n += 1 + min(int(rng.paretovariate(1.5)), 8)
    _first_visit(rng, person, n)


def _start_trial(rng: random.Random, person: _Person) -> bool:
    """Page views, then the trial start (= signup). False if the year ends before it."""
    last_view = _first_visit(rng, person, rng.choices((1, 2, 3, 4), (35, 35, 20, 10))[0])
    if rng.random() < 0.6:
        signup = last_view + rng.randint(1 * _MINUTE, 15 * _MINUTE)
    else:
        delay = min(rng.lognormvariate(math.log(2.0), 1.0), 60.0)
        signup = _moment_between(rng, last_view + int(delay * _DAY), last_view + int(delay * _DAY) + _DAY)
    if signup >= _YEAR_END - _HOUR:
        return False
    person.signup = signup
    person.add(signup, "trial_started")
    depth = max(person.stage - 1, 0)
    person.channel = rng.choices(CHANNELS, (45, 30, 15 + 4 * depth, 10 + 3 * depth))[0]
    # Most start on the free plan; some (more among serious agencies) pay from day one. One draw
    # whatever the weights, so tuning them changes plans only, never a later event.
    person.plan = rng.choices(PLANS, (76, 16, 8) if depth >= 2 else (93, 5, 2))[0]
    person.created_at = signup
    if person.channel == "partner" and rng.random() < 0.3:
        # An agency partner provisioned the account before the user first showed up: the
        # customers row predates every event of the user.
        created = person.arrival - rng.randint(1 * _DAY, 12 * _DAY)
        if created >= 0:
            person.created_at = created
    person.audiences = tuple(rng.sample(_AUDIENCES, rng.randint(1, 3)))
    return True


def _short_trial(rng: random.Random, person: _Person) -> None:
    """Interest or first value: a few days or weeks of trying, then silence."""
    assert person.signup is not None
    k = person.intensity
    if person.stage == _INTEREST:
        days = 1 + min(int(rng.expovariate(1 / 6)), 30)
        logins = _poisson(rng, 0.6 + 0.3 * k)
        if rng.random() < 0.8:  # stalls before five searches
            searches = rng.choices(range(5), (22, 24, 22, 18, 14))[0]
            lists = _poisson(rng, 0.4)
        else:  # searches plenty but never saves a list
            searches, lists = 5 + _poisson(rng, 2.0 * k), 0
        exports = _export_formats(rng, _poisson(rng, 0.3) if lists else 0)
    else:  # first value, then a near miss of value realization
        days = 5 + min(int(rng.expovariate(1 / 18)), 70)
        logins = 1 + _poisson(rng, 1.5 + k)
        mode = rng.choices(("few_searches", "one_list", "no_csv"), (45, 25, 30))[0]
        if mode == "few_searches":
            searches, lists = rng.randint(5, 9), 1 + _poisson(rng, 0.6)
            exports = _export_formats(rng, _poisson(rng, 1.0))
        elif mode == "one_list":
            searches, lists = 10 + _poisson(rng, 4.0 * k), 1
            exports = _export_formats(rng, _poisson(rng, 1.2))
        else:
            searches, lists = 10 + _poisson(rng, 4.0 * k), 2 + _poisson(rng, 0.8)
            exports = rng.choices(("xlsx", "pdf"), (2, 1), k=_poisson(rng, 1.5))
            exports += ["csv"] * rng.randint(0, 1)
    end = min(person.signup + days * _DAY, _YEAR_END)
    anchors = [person.signup] + _logins_between(rng, person, person.signup + _HOUR, end, logins)
    _place_work(rng, person, anchors, _YEAR_END, searches, lists, exports)
