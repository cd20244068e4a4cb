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
import random
import sys
from collections.abc import Sequence
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from .demo_customers import _customer, _struggle_tickets, _support
from .demo_people import (_DAY, _FIRST_VALUE, _HOUR, _MINUTE, _STAGE_WEIGHTS, _START, _VISITOR, _YEAR_END,
                          CHANNELS, CUSTOMERS_FILE, CUSTOMERS_HEADER, EVENTS_FILE, EVENTS_HEADER, _arrival,
                          _moment_between, _Person, _short_trial, _start_trial,
                          _visitor)

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
