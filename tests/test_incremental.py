"""Incremental builds equal full rebuilds: on random appends, late events, changed signups and
changed definitions (the build decides per journey; see clg_metrics/incremental.py)."""

from __future__ import annotations

import csv
import random
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from clg_metrics.compiler import OUTPUT_NAMES
from clg_metrics.runner import Settings, build, load_context

JOURNEY = """\
journey: j
events: {from: events}
customers: {from: customers}
phases:
  - phase: p
    milestones:
      - milestone: first
        reached_when: {event: a}
      - milestone: second
        reached_when: {all: [{event: b, at_least: 2}, {event: c, distinct: value}]}
      - milestone: weekly
        reached_when: {per: week, streak: 2, event: a, at_least: 2}
      - milestone: fast
        reached_when: {event: c, at_least: 2}
        within: {days: 10, of: signup}
segments:
  - segment: busy
    when: {all: [{event: [a, b], in_last: {days: 3}, at_least: 2}, {signed_up: {days_ago: {lte: 40}}}]}
  - segment: quiet
    when: {all: [{milestone: first}, {event: c, in_last: {hours: 36}, at_most: 0},
                 {not: {event: b, distinct: value, in_last: {days: 5}, at_least: 2}}]}
analysis: {cohorts: {per: week, within: {days: 7}}, trend: day, win_back: {inactive_days: 2}}
"""
PROJECT = "name: inc\nprofile: test\nincremental: {lookback_hours: 48}\n"
START = datetime(2024, 1, 1)


def write_events(root: Path, rows):
    with (root / "seeds" / "events.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["event_id", "customer_id", "event_name", "occurred_at", "value"])
        for i, (customer, name, when, value) in enumerate(rows):
            writer.writerow([i, customer, name, when.isoformat(sep=" "), value or ""])


def write_customers(root: Path, rows):
    with (root / "seeds" / "customers.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["customer_id", "signed_up_at"])
        for customer, signed in rows:
            writer.writerow([customer, signed.isoformat(sep=" ") if signed else ""])


def random_events(rng: random.Random, n: int, start: datetime, days: int):
    return [(rng.randint(1, 12), rng.choice("abcd"), start + timedelta(minutes=rng.randint(0, days * 1440)),
             rng.choice(["x", "y", "z", None])) for _ in range(n)]


def run(root: Path, as_of: datetime, full_refresh: bool = False):
    ctx = load_context(Settings(project_dir=root, as_of=as_of.isoformat()))
    report = build(ctx, run_checks=False, full_refresh=full_refresh)
    return next(r.message for r in report.models if r.kind == "journey")


def tables(root: Path):
    con = duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                for t in (*OUTPUT_NAMES, "progress__j")}
    finally:
        con.close()


def full_rebuild(root: Path, as_of: datetime, scratch: Path):
    """The same project, built from scratch in another folder."""
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(root, scratch, ignore=shutil.ignore_patterns("target"))
    assert run(scratch, as_of).startswith("full")
    return tables(scratch)


@pytest.fixture
def project(make_project):
    root = make_project({"clg_project.yml": PROJECT, "milestones/j.yml": JOURNEY})
    (root / "seeds").mkdir()
    return root


@pytest.mark.parametrize("seed", range(4))
def test_random_appends_and_late_events_equal_full_rebuild(project, tmp_path, seed):
    rng = random.Random(seed)
    events = random_events(rng, 150, START, 40)
    customers = [(c, START + timedelta(days=rng.randint(0, 30)) if rng.random() < 0.8 else None)
                 for c in range(1, 15) if rng.random() < 0.7]
    write_events(project, events)
    write_customers(project, customers)
    as_of = START + timedelta(days=30)
    assert run(project, as_of).startswith("full")
    for step in range(3):
        previous, as_of = as_of, as_of + timedelta(days=rng.randint(0, 5))
        # new events since the last build (some after as_of: not counted yet), and late ones that
        # arrive now but happened inside the 48 h lookback before the previous build
        events += random_events(rng, 40, previous, 7)
        events += [(rng.randint(1, 12), rng.choice("abc"), previous - timedelta(hours=rng.randint(1, 47)), "z")
                   for _ in range(3)]
        if step == 1:  # a signup moves, a customer appears, one leaves the customers source
            customers = [(c, s + timedelta(days=1) if s and c % 2 else s) for c, s in customers][1:] + [(40, as_of)]
            write_customers(project, customers)
        write_events(project, events)
        mode = run(project, as_of)
        assert tables(project) == full_rebuild(project, as_of, tmp_path / "full"), (seed, step, mode)
    assert mode == "incremental"


def test_late_event_before_the_cutoff_forces_a_full_rebuild(project, tmp_path):
    events = random_events(random.Random(7), 100, START, 30)
    write_events(project, events)
    write_customers(project, [(1, START)])
    as_of = START + timedelta(days=30)
    run(project, as_of)
    events.append((3, "a", START + timedelta(days=2), None))  # far older than as_of - 48 h
    write_events(project, events)
    mode = run(project, as_of + timedelta(days=1))
    assert mode.startswith("full") and "late or edited" in mode
    assert tables(project) == full_rebuild(project, as_of + timedelta(days=1), tmp_path / "full")


def test_nothing_new_is_incremental_and_identical(project):
    write_events(project, random_events(random.Random(3), 80, START, 30))
    write_customers(project, [(1, START), (2, None)])
    as_of = START + timedelta(days=30)
    run(project, as_of)
    before = tables(project)
    assert run(project, as_of) == "incremental"
    assert tables(project) == before


def test_changed_definition_or_sql_model_forces_full_rebuild(project):
    write_events(project, random_events(random.Random(5), 80, START, 30))
    write_customers(project, [(1, START)])
    as_of = START + timedelta(days=30)
    run(project, as_of)
    (project / "milestones" / "j.yml").write_text(JOURNEY.replace("at_least: 2}, {event: c", "at_least: 3}, {event: c"))
    assert "changed" in run(project, as_of)
    assert run(project, as_of) == "incremental"
    assert run(project, as_of, full_refresh=True) == "full: --full-refresh"
    assert run(project, as_of - timedelta(days=1)).startswith("full: as_of is earlier")
