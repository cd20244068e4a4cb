"""Deterministic seed data for the demo project: one year of an audience-research SaaS tool.

The demo journey (SPEC section 2) follows agencies that research where a client's audience pays
attention: they visit the site, start a trial, search audiences, build lists, export them, come
back monthly, log in several times a week and finally upgrade, review or refer. A demo is only
convincing if its funnel tells that story, so the data is *shaped*, not uniform:

* many visitors view one to three pages and leave; about a third start a trial (the trial start
  is the signup, and each signup gets a ``raw_customers`` row);
* the biggest drop-off is between interest and first value (5 searches and a list), the drop the
  demo is meant to make visible; fewer still realise value (10 searches, 2 lists, 2 CSV
  exports), come back for a month of real work, build a weekly login habit, and grow;
* activity per customer is heavy-tailed (a Pareto intensity times a lognormal month-to-month
  wobble), signups grow over the year, a few partner-provisioned accounts exist before their
  first event, and a few signups from the last days of December have no events yet;
* support tickets follow the struggle (people stuck before value file the most, paying customers
  who realise value the fewest, a few needy accounts many), and about a fifth of the customers
  who go on to real work pay (pro or agency) from day one, so the CLG "best customers" filter
  (paying, little support, signed up 3-6 months ago) selects a real group.

Each person is given a *destination* stage and their events are built so that, read with the
demo journey's rules (sequential order, calendar months, Monday weeks, 90 days from signup),
they reach exactly that stage -- unless the year ends first, which is the realistic reason late
cohorts are shallower. Near misses are deliberate (4 searches, one list, exports as xlsx, a
login streak of three weeks) so that every condition of the journey actually decides something.

Everything comes from one ``random.Random(seed)`` and never from the clock or the global
generator: the same call writes byte-identical files, so the demo's numbers in the docs stay true.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

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


_MonthWork = tuple[int, int, list[str]]  # searches, lists, export formats of one calendar month


def _month_plan(
    rng: random.Random, person: _Person, windows: list[tuple[int, int]]
) -> list[_MonthWork]:
    """(searches, lists, export formats) per calendar month of a customer's active life: a
    heavy-tailed intensity, a month-to-month wobble and a slow fade, scaled to partial months."""
    plan = []
    for i, (lo, hi) in enumerate(windows):
        level = person.intensity * rng.lognormvariate(0.0, 0.35) * 0.95**i
        share = max((hi - lo) / (30.4 * _DAY), 0.15)
        plan.append((
            _poisson(rng, 30.0 * level * share),
            _poisson(rng, 3.2 * level * share),
            _export_formats(rng, _poisson(rng, 2.9 * level * share)),
        ))  # fmt: skip
    return plan


def _cap_months(rng: random.Random, plan: list[_MonthWork]) -> list[_MonthWork]:
    """Value realization without continued value: every month misses one of the monthly bars
    (10 searches, 2 lists, 2 exports), yet the months together pass the cumulative bar (10
    searches, 2 lists, 2 CSV exports). Consecutive months miss different bars, so each bar is
    open in the first two months and the totals can be topped up there."""
    start, step = rng.randrange(3), rng.choice((1, 2))
    limited = [(start + i * step) % 3 for i in range(len(plan))]
    capped = []
    for (s, n_lists, exports), dim in zip(plan, limited, strict=True):
        if dim == 0:
            s = min(s, 9)
        elif dim == 1:
            n_lists = min(n_lists, 1)
        else:
            exports = exports[:1]
        capped.append((s, n_lists, list(exports)))
    if len(capped) < 2:
        return capped  # one month cannot realise value without passing the monthly bar
    for dim, need in ((0, 10), (1, 2)):
        total = sum(month[dim] for month in capped)
        if total < need:
            i = next(i for i, d in enumerate(limited) if d != dim)
            s, n_lists, exports = capped[i]
            if dim == 0:
                capped[i] = (s + need - total, n_lists, exports)
            else:
                capped[i] = (s, n_lists + need - total, exports)
    csv_total = sum(month[2].count("csv") for month in capped)
    if csv_total < 2:
        i = next(i for i, d in enumerate(limited) if d != 2)
        capped[i][2].extend(["csv"] * (2 - csv_total))
    return capped


def _customer(rng: random.Random, person: _Person) -> None:
    """Value realization and beyond: months of work, weekly logins, maybe a habit and growth."""
    assert person.signup is not None
    signup, stage = person.signup, person.stage
    first_month = _month_of(signup)
    if stage == _REALIZATION:
        n_months = max(2, 1 + int(rng.paretovariate(0.9)))
    elif stage == _CONTINUED:
        n_months = 3 + int(rng.paretovariate(0.9))
    else:
        n_months = 4 + int(rng.paretovariate(0.8))
    n_months = min(n_months, 12 - first_month)
    last_month = first_month + n_months - 1
    last_start = max(_MONTH_STARTS[last_month], signup + _DAY)
    life_end = _moment_between(rng, last_start, _MONTH_STARTS[last_month + 1])

    # The month whose work is continued value, and (habit, growth) the login streak around it.
    cv_month, streak = None, None
    if stage >= _CONTINUED:
        if stage == _GROWTH:
            days_left = (_MONTH_STARTS[first_month + 1] - signup) / _DAY
            cv_month = first_month if days_left >= 10 else first_month + 1
        else:
            cv_month = first_month + rng.randint(0, 2)
        cv_month = min(cv_month, 11)
        last_month = max(last_month, cv_month)
        life_end = max(life_end, _MONTH_STARTS[cv_month + 1])
    if stage >= _HABIT:
        assert cv_month is not None
        signup_week = signup // _WEEK
        cv_week = (_MONTH_STARTS[cv_month + 1] - 1) // _WEEK  # its end is after continued value
        first = signup_week + 1 + (0 if stage == _GROWTH else rng.randint(0, 3))
        last = max(cv_week, first + 3) + (0 if stage == _GROWTH else rng.randint(0, 4))
        streak = (first, last)
        life_end = max(life_end, (last + 1) * _WEEK)
        last_month = max(last_month, _month_of(min(life_end, _YEAR_END) - 1))
    life_end = min(life_end, _YEAR_END)

    months = list(range(first_month, last_month + 1))
    windows = [(max(_MONTH_STARTS[m], signup), min(_MONTH_STARTS[m + 1], life_end)) for m in months]
    plan = _month_plan(rng, person, windows)
    if stage == _REALIZATION:
        plan = _cap_months(rng, plan)
    elif cv_month is not None and cv_month in months:
        i = months.index(cv_month)
        s, n_lists, exports = plan[i]
        exports = list(exports) + ["csv"] * max(0, 2 - exports.count("csv"))
        plan[i] = (max(s, 10 + _poisson(rng, 3.0)), max(n_lists, 2), exports)

    # Logins, week by week; a habit is a run of weeks with three or more.
    logins: list[int] = []
    for week in range(signup // _WEEK, (life_end - 1) // _WEEK + 1):
        lo, hi = max(week * _WEEK, signup + _HOUR), min((week + 1) * _WEEK, life_end)
        level = person.intensity * 0.9 ** ((week * _WEEK - signup) / (30.4 * _DAY))
        n = _poisson(rng, min(3.4 * level, 10.0))
        if streak and streak[0] <= week <= streak[1]:
            n = max(n, rng.randint(3, 6))
        logins += _logins_between(rng, person, lo, hi, n)

    for (lo, hi), (searches, lists, exports) in zip(windows, plan, strict=True):
        if hi <= lo:
            continue
        anchors = [t for t in logins if lo <= t < hi] + ([signup] if lo == signup else [])
        if not anchors:
            anchors = _logins_between(rng, person, lo, hi, rng.randint(1, 2)) or [lo]
        _place_work(rng, person, anchors, hi, searches, lists, exports)
        for _ in range(_poisson(rng, 1.5)):
            person.add(_moment_between(rng, lo, hi), "page_view")

    _growth_events(rng, person, streak, life_end)
    if stage == _CONTINUED:
        _break_streaks(rng, person)


def _growth_events(
    rng: random.Random, person: _Person, streak: tuple[int, int] | None, life_end: int
) -> None:
    """Upgrade, review and referral. Growth customers do one or two of them after their login
    streak and within 90 days of signup; habit customers only later than that (or never), so
    they stay one milestone short; earlier stages sometimes do them anyway."""
    assert person.signup is not None
    kinds = rng.sample(("upgrade", "review", "referral"), rng.choices((1, 2), (70, 30))[0])
    if person.stage == _GROWTH and streak is not None:
        lo, hi = (streak[1] + 1) * _WEEK, person.signup + 89 * _DAY
    elif person.stage == _HABIT:
        lo, hi = person.signup + 91 * _DAY, max(life_end, person.signup + 150 * _DAY)
        if rng.random() > 0.4:
            return
    else:
        chance = {_INTEREST: 0.01, _FIRST_VALUE: 0.04, _REALIZATION: 0.15, _CONTINUED: 0.3}[person.stage]
        lo, hi = person.signup + _DAY, max(life_end, person.signup + 2 * _DAY)
        if rng.random() > chance:
            return
    if hi <= lo:
        return
    for kind in kinds:
        t = _moment_between(rng, lo, hi)
        if kind == "upgrade":
            person.add(t - rng.randint(1 * _MINUTE, 5 * _MINUTE), "page_view")  # the pricing page
        person.add(t, kind)
        if kind == "upgrade" and t < _YEAR_END:
            person.plan = rng.choices(("pro", "agency"), (70, 30))[0]


def _break_streaks(rng: random.Random, person: _Person) -> None:
    """Continued value without a habit: drop logins from every fourth consecutive week with three
    or more, so no four-week streak exists."""
    by_week: dict[int, list[int]] = {}
    for t, seq, name, _ in person.events:
        if name == "login":
            by_week.setdefault(t // _WEEK, []).append(seq)
    drop: set[int] = set()
    run, previous = 0, -2
    for week in sorted(by_week):
        seqs = by_week[week]
        if len(seqs) < 3:
            run = 0
            continue
        run = run + 1 if previous == week - 1 else 1
        previous = week
        if run == 4:
            drop.update(seqs[rng.randint(1, 2) :])
            run = 0
    person.events = [event for event in person.events if event[1] not in drop]


def _support(rng: random.Random, person: _Person) -> None:
    """A handful of tickets, mostly from people who actually use the product (the first
    generator's tickets, still drawn from the main stream so every later draw stays the same)."""
    assert person.signup is not None
    chance = 0.015 if person.stage <= _INTEREST else 0.05
    if rng.random() < chance:
        last = max(t for t, _, _, _ in person.events)
        for _ in range(rng.choices((1, 2), (80, 20))[0]):
            person.add(_moment_between(rng, person.signup + _HOUR, max(last, person.signup + 2 * _HOUR)),
                       "support_ticket")  # fmt: skip


def _struggle_tickets(rng: random.Random, person: _Person) -> None:
    """Support tickets that follow the struggle: strugglers ask for help, customers who get the
    value rarely do.

    The CLG "best customers" filter keeps those with at most two tickets, so the counts must mean
    something: a stalled trial files a ticket now and then ("the search finds nothing"), people
    stuck just short of value file the most, customers who realise value and keep using the product
    need little help, and paying customers least (they were onboarded). A few accounts of every
    kind are needy and file many. Tickets fall in the customer's active life (signup to their last
    event), so they never make a quiet customer look active. Drawn from ``rng``, a stream of their
    own, so tuning them leaves every other event, and so the funnel, unchanged.
    """
    assert person.signup is not None
    rate = {_INTEREST: 0.45, _FIRST_VALUE: 0.9, _REALIZATION: 0.5, _CONTINUED: 0.3}.get(person.stage, 0.25)
    if person.plan != "free":
        rate *= 0.6
    n = _poisson(rng, rate)
    if rng.random() < (0.12 if person.stage in (_INTEREST, _FIRST_VALUE) else 0.06):
        n += rng.randint(3, 6)  # a needy account
    last = max(t for t, _, _, _ in person.events)
    for _ in range(n):
        person.add(_moment_between(rng, person.signup + _HOUR, max(last, person.signup + 2 * _HOUR)),
                   "support_ticket")  # fmt: skip


def _build(customers: int, seed: int) -> tuple[list[list[str]], list[list[str]]]:
    """All rows of both files, in file order."""
    rng = random.Random(seed)
    support_rng = random.Random(f"support-{seed}")
    people: list[_Person] = []
    for index in range(customers):
        stage = rng.choices(range(7), _STAGE_WEIGHTS)[0]
        person = _Person(index=index, stage=stage, arrival=_arrival(rng))
        person.intensity = min(rng.paretovariate(1.7), 20.0)
        if stage == _VISITOR or not _start_trial(rng, person):
            if stage != _VISITOR:
                person.events.clear()
                person.stage = _VISITOR
            _visitor(rng, person)
        elif stage <= _FIRST_VALUE:
            _short_trial(rng, person)
        else:
            _customer(rng, person)
        if person.signup is not None:
            _support(rng, person)
            _struggle_tickets(support_rng, person)
        people.append(person)
    # Signups from the last days of December whose first events fall in 2025: customers rows
    # without any event yet.
    for index in range(customers, customers + max(1, customers // 600)):
        person = _Person(index=index, stage=_VISITOR, arrival=0)
        person.created_at = _moment_between(rng, _YEAR_END - 12 * _DAY, _YEAR_END)
        person.channel = rng.choices(CHANNELS, (45, 30, 15, 10))[0]
        people.append(person)

    # user_id in order of first appearance, as an auto-increment id would be.
    people.sort(key=lambda p: (p.first_moment(), p.index))
    events: list[tuple[int, int, int, str, str]] = []
    customer_rows: list[list[str]] = []
    for user_id, person in enumerate(people, start=1001):
        events += [(t, user_id, seq, name, props) for t, seq, name, props in person.events]
        if person.created_at is not None:
            customer_rows.append([str(user_id), _timestamp(person.created_at), person.plan, person.channel])
    events.sort()
    event_rows = [
        [str(event_id), str(user_id), name, _timestamp(t), props]
        for event_id, (t, user_id, _, name, props) in enumerate(events, start=1)
    ]
    return event_rows, customer_rows


def _timestamp(t: int) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (UTC, no zone) of a moment in seconds since 2024-01-01."""
    day, rest = divmod(t, _DAY)
    return f"{_day_text(day)} {rest // _HOUR:02d}:{rest % _HOUR // _MINUTE:02d}:{rest % _MINUTE:02d}"


@lru_cache(maxsize=None)
def _day_text(day: int) -> str:
    return (_START + timedelta(days=day)).strftime("%Y-%m-%d")


def _write_csv(path: Path, header: Sequence[str], rows: list[list[str]]) -> None:
    # "\n" line endings and utf-8 regardless of platform, so the bytes never depend on the OS.
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_demo_seeds(seeds_dir: Path, customers: int = 3000, seed: int = 7) -> None:
    """Write ``raw_events.csv`` and ``raw_customers.csv`` into ``seeds_dir`` (created if needed).

    ``customers`` is the number of website visitors (people with events); about a third of them
    sign up. A few extra customers rows (late-December signups) have no events yet. The same
    arguments always write the same bytes.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    event_rows, customer_rows = _build(customers, seed)
    seeds_dir = Path(seeds_dir)
    seeds_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(seeds_dir / EVENTS_FILE, EVENTS_HEADER, event_rows)
    _write_csv(seeds_dir / CUSTOMERS_FILE, CUSTOMERS_HEADER, customer_rows)
    write_survey(seeds_dir, seed)


def write_survey(seeds_dir: Path, seed: int = 7) -> None:
    """The survey seed (SPEC §5), drawn from the customers just written (see ``demo_survey``)."""
    from .demo_survey import write_demo_survey

    write_demo_survey(seeds_dir, seed=seed)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m clg_metrics.demo_data SEEDS_DIR [--customers N] [--seed S]``."""
    parser = argparse.ArgumentParser(
        prog="python -m clg_metrics.demo_data",
        description="Write the demo project's seeds (raw_events.csv, raw_customers.csv).",
    )
    parser.add_argument("seeds_dir", type=Path)
    parser.add_argument("--customers", type=int, default=3000, help="website visitors (default 3000)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    write_demo_seeds(args.seeds_dir, customers=args.customers, seed=args.seed)
    print(f"wrote {args.seeds_dir / EVENTS_FILE} and {args.seeds_dir / CUSTOMERS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
