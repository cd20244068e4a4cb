"""The demo's paying-attention customers (see ``demo_data``): months of real work, the weekly login
habit, growth events and support tickets, built on the people of ``demo_people``."""

from __future__ import annotations

import random

from .demo_people import (
    _CONTINUED,
    _DAY,
    _FIRST_VALUE,
    _GROWTH,
    _HABIT,
    _HOUR,
    _INTEREST,
    _MINUTE,
    _MONTH_STARTS,
    _Person,
    _REALIZATION,
    _WEEK,
    _YEAR_END,
    _export_formats,
    _logins_between,
    _moment_between,
    _month_of,
    _place_work,
    _poisson,
)

_MonthWork = tuple[int, int, list[str]]  # searches, lists, export formats of one calendar month


def _month_plan(rng: random.Random, person: _Person, windows: list[tuple[int, int]]) -> list[_MonthWork]:
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
