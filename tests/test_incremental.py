"""Incremental builds equal full rebuilds: on random appends, late events, changed signups and
changed definitions (the build decides per journey; see clg_metrics/incremental.py), and the
per-customer outputs they update in place (phases/deltas.py) equal a full build's, table by table,
on DuckDB (warehouse and serving file) and PostgreSQL."""

from __future__ import annotations

import csv
import json
import random
import shutil
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from engines import drop_schema, postgres_target

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
      - milestone: fast
        reached_when: {event: c, at_least: 2}
        within: {days: 10, of: signup}
      - milestone: second
        reached_when: {all: [{event: b, at_least: 2}, {event: c, distinct: value}]}
        within: {days: 12, of: first}
      - milestone: weekly
        reached_when: {per: week, streak: 2, event: a, at_least: 2}
segments:
  - segment: busy
    when: {all: [{event: [a, b], in_last: {days: 3}, at_least: 2}, {signed_up: {days_ago: {lte: 40}}}]}
  - segment: quiet
    when: {all: [{milestone: first}, {event: c, in_last: {hours: 36}, at_most: 0},
                 {not: {event: b, distinct: value, in_last: {days: 5}, at_least: 2}}]}
  - segment: pro
    when: {any: [{customer: {plan: pro}}, {milestone: second, status: in_progress}]}
analysis: {cohorts: {per: week, within: {days: 7}}, trend: day, win_back: {inactive_days: 2}}
"""
# Without segments: statuses are then the only way as_of moves milestone_status, which segment
# memberships (touching the same customers) would hide from the comparison with a full build
WITHOUT_SEGMENTS = JOURNEY[:JOURNEY.index("segments:")] + JOURNEY[JOURNEY.index("analysis:"):]
# Every leaf state mergeable (no `distinct`, no k-th latest for k > 1): incremental builds merge the
# new events into the stored leaf state (compiler/leaves.py) instead of recomputing from history
MERGEABLE = (JOURNEY.replace("{event: c, distinct: value}", "{event: c, at_least: 3}")
             .replace("{event: b, distinct: value, in_last: {days: 5}, at_least: 2}", "{event: b, in_last: {days: 5}}")
             .replace("{event: [a, b], in_last: {days: 3}, at_least: 2}", "{event: [a, b], in_last: {days: 3}}")
             .replace("analysis:", "  - segment: calm\n    when: {event: d, at_most: 3}\nanalysis:"))
LEAF_TABLES = ("progress_leaves__j", "progress_periods__j__4")  # the journey's leaf state (compiler/leaves.py)
PROJECT = "name: inc\nprofile: test\nincremental: {lookback_hours: 48}\n"
START = datetime(2024, 1, 1)
PER_CUSTOMER = ("milestone_status", "customer_progress", "segment_members", "win_back")


def write_events(root: Path, rows):
    with (root / "seeds" / "events.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["event_id", "customer_id", "event_name", "occurred_at", "value"])
        for i, (customer, name, when, value) in enumerate(rows):
            writer.writerow([i, customer, name, when.isoformat(sep=" "), value or ""])


def write_customers(root: Path, rows):
    """(customer, signup[, plan]) rows."""
    with (root / "seeds" / "customers.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["customer_id", "signed_up_at", "plan"])
        for customer, signed, *plan in rows:
            writer.writerow([customer, signed.isoformat(sep=" ") if signed else "", (plan or ["free"])[0]])


def random_events(rng: random.Random, n: int, start: datetime, days: int, customers=range(1, 13)):
    return [(rng.choice(customers), rng.choice("abcd"), start + timedelta(minutes=rng.randint(0, days * 1440)),
             rng.choice(["x", "y", "z", None])) for _ in range(n)]


def results(root: Path) -> dict[str, str | None]:
    """What each journey and output model of the last build said (run_results.json)."""
    payload = json.loads((root / "target" / "run_results.json").read_text())
    return {r["name"]: r["message"] for r in payload["results"] if r["kind"] in ("leaves", "journey", "output")}


def run(root: Path, as_of: datetime, full_refresh: bool = False):
    ctx = load_context(Settings(project_dir=root, as_of=as_of.isoformat()))
    report = build(ctx, run_checks=False, full_refresh=full_refresh)
    # the mode, before what the model says of how it was staged ("; in place: the rows of ...")
    return next(r.message for r in report.models if r.kind == "journey").split("; ")[0]


def _sorted(rows) -> list[tuple]:
    return sorted((tuple(r) for r in rows), key=repr)


def duckdb_tables(path: Path, names=(*OUTPUT_NAMES, "progress__j", *LEAF_TABLES)) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: _sorted(con.execute(f'SELECT * FROM "{t}"').fetchall()) for t in names}
    finally:
        con.close()


def tables(root: Path):
    return duckdb_tables(root / "target" / "test.duckdb")


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


class Postgres:
    """The project built into a fresh PostgreSQL schema per name (profile target ``dev``)."""

    def __init__(self):
        self.engines = {}

    def use(self, root: Path, name: str) -> None:
        from clg_metrics.engines import connect

        if name not in self.engines:
            target = postgres_target(f"clg_inc_{uuid.uuid4().hex[:8]}")
            self.engines[name] = connect(target, root)
        fields = self.engines[name].target.model_dump(by_alias=True, exclude_none=True)
        body = ", ".join(f"{k}: {json.dumps(v)}" for k, v in fields.items())
        (root / "profiles.yml").write_text(f"test:\n  outputs:\n    dev: {{{body}}}\n")

    def tables(self, name: str) -> dict[str, list[tuple]]:
        engine = self.engines[name]
        return {t: _sorted(engine.fetch(f"SELECT * FROM {engine.quote(t)}")[1])
                for t in (*OUTPUT_NAMES, "progress__j", *LEAF_TABLES)}

    def close(self) -> None:
        for engine in self.engines.values():
            drop_schema(engine)


def appends_and_late_events(project: Path, scratch: Path, seed: int, warehouse: Postgres | None,
                            journey: str = JOURNEY):
    """Three incremental builds after a first one, each compared with a full build of the same
    data, table by table: new events (some after as_of), late ones inside the lookback, as_of
    standing still and then moving far enough that deadlines pass (``missed``), win_back and the
    ``in_last`` segments change; signups moved, a customer new, one leaving, a plan changed."""
    (project / "milestones" / "j.yml").write_text(journey)
    rng = random.Random(seed)
    everyone = range(1, 25)
    events = random_events(rng, 250, START, 30, everyone)
    # signups such that `fast`'s 10-day deadlines fall between the builds' as_ofs
    customers = [(c, START + timedelta(days=rng.randint(0, 40)) if rng.random() < 0.85 else None,
                  rng.choice(["free", "pro"])) for c in range(1, 28) if rng.random() < 0.8]
    write_events(project, events)
    write_customers(project, customers)
    if warehouse:
        warehouse.use(project, "incremental")
    as_of = START + timedelta(days=30)
    assert run(project, as_of).startswith("full")
    for step, days in enumerate([0, rng.randint(4, 9), rng.randint(4, 9)]):
        previous, as_of = as_of, as_of + timedelta(days=days)
        # new events since the last build (some after as_of: not counted yet), and late ones that
        # arrive now but happened inside the 48 h lookback before the previous build
        # (a few customers only: the others' rows change through as_of alone, if at all)
        active = rng.sample(everyone, 4)
        events += random_events(rng, 15, previous, 7, active)
        events += [(rng.choice(active), rng.choice("abc"), previous - timedelta(hours=rng.randint(1, 47)), "z")
                   for _ in range(3)]
        if step == 1:  # a signup moves, a customer appears, one leaves the customers source, plans change
            customers = [(c, s + timedelta(days=1) if s and c % 2 else s, "pro" if c % 3 == 0 else plan)
                         for c, s, plan in customers][1:] + [(40, as_of, "pro")]
            write_customers(project, customers)
        write_events(project, events)
        if warehouse:
            warehouse.use(project, "incremental")
        mode = run(project, as_of)
        said = results(project)
        full = scratch / "full"
        if full.exists():
            shutil.rmtree(full)
        shutil.copytree(project, full, ignore=shutil.ignore_patterns("target"))
        if warehouse:
            warehouse.use(full, "full")
            assert run(full, as_of, full_refresh=True).startswith("full")
            actual, expected = warehouse.tables("incremental"), warehouse.tables("full")
        else:
            assert run(full, as_of).startswith("full")
            actual, expected = tables(project), tables(full)
            served = duckdb_tables(project / "target" / "test_serving.duckdb", OUTPUT_NAMES)
            if journey is MERGEABLE:  # the leaf state was merged into, not recomputed
                merged = [m for n, m in said.items() if n.startswith(("progress_leaves__", "progress_periods__"))]
                assert merged and all("merged into the stored state" in m for m in merged), said
            assert served == {t: expected[t] for t in OUTPUT_NAMES}, (seed, step, "serving file")
        for table in expected:
            assert actual[table] == expected[table], (seed, step, mode, table, said.get(table))
        assert mode == "incremental", (seed, step, mode)
        # the leaf state and progress tables were updated in place (a transactional publish), not copied
        staged = [m for n, m in said.items() if n.startswith(("progress_", "progress__"))]
        assert staged and all("in place: the rows of" in m for m in staged), said
        # the outputs were updated in place, not rebuilt: as_of standing still, all four; moving,
        # those whose rows do not all count from as_of (segment_members: when there are segments)
        deltas = [t for t in PER_CUSTOMER if (said[t] or "").startswith("delta")]
        moving = ("customer_progress", "win_back") if days else ()
        assert deltas == [t for t in PER_CUSTOMER if t not in moving
                          and (t != "segment_members" or journey is not WITHOUT_SEGMENTS)], said


@pytest.mark.parametrize("seed, journey", [(0, JOURNEY), (1, JOURNEY), (2, WITHOUT_SEGMENTS), (3, MERGEABLE),
                                           (4, MERGEABLE)])
def test_random_appends_and_late_events_equal_full_rebuild(project, tmp_path, seed, journey):
    appends_and_late_events(project, tmp_path, seed, None, journey)


def test_random_appends_and_late_events_equal_full_rebuild_on_postgres(project, tmp_path):
    warehouse = Postgres()
    try:
        appends_and_late_events(project, tmp_path, 11, warehouse)
    finally:
        warehouse.close()


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


def warehouse_tables(root: Path) -> list[str]:
    con = duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True)
    try:
        return [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
    finally:
        con.close()


def test_an_event_of_one_customer_replaces_only_that_customers_rows(project, tmp_path, monkeypatch):
    """The delta is published, not a full rebuild in disguise: one late event (inside the
    lookback) of one customer stages that customer's rows only, the aggregates are rebuilt, the
    serving file is a copy of the previous one with the delta applied; a build that fails after
    staging deltas publishes nothing and leaves none of them behind."""
    events = random_events(random.Random(4), 120, START, 30)
    write_events(project, events)
    write_customers(project, [(c, START + timedelta(days=c)) for c in range(1, 13)])
    as_of = START + timedelta(days=30)
    run(project, as_of)
    events.append((3, "a", as_of - timedelta(hours=1), "x"))
    write_events(project, events)
    assert run(project, as_of) == "incremental"
    said = results(project)
    payload = json.loads((project / "target" / "run_results.json").read_text())
    rows = {r["name"]: r["rows"] for r in payload["results"]}
    for table in PER_CUSTOMER:
        assert said[table] == "delta: the rows of 1 touched customers", (table, said[table])
    assert rows["milestone_status"] == 4 and rows["customer_progress"] == 1  # customer 3's rows
    assert all(said[t] is None for t in OUTPUT_NAMES if t not in PER_CUSTOMER)  # rebuilt whole
    assert payload["serving"] == "copy" and {"plan", "publish", "serve"} <= set(payload["phases"])
    assert not [t for t in warehouse_tables(project) if t.startswith("__clg")]
    assert tables(project) == full_rebuild(project, as_of, tmp_path / "full")

    # an output check fails after the deltas were staged: it read the delta's rows (customer 5's
    # four), nothing is published, no staged table is left, readers see the previous build
    import clg_metrics.runner as runner
    from sqlglot import exp

    from clg_metrics.checks.derive import BATCH, UNEXPECTED_ROWS, CheckSpec

    real = runner.output_checks
    failing = CheckSpec("milestone_status.always_fails", "milestone_status", UNEXPECTED_ROWS, {}, "error", "output",
                        query=exp.select("*").from_(exp.to_table(BATCH)))
    monkeypatch.setattr(runner, "output_checks", lambda *a, **k: real(*a, **k) + [failing])
    before, served = tables(project), duckdb_tables(project / "target" / "test_serving.duckdb", OUTPUT_NAMES)
    write_events(project, events + [(5, "b", as_of - timedelta(hours=2), "y")])
    ctx = load_context(Settings(project_dir=project, as_of=as_of.isoformat()))
    with pytest.raises(Exception, match="nothing was published"):
        build(ctx, run_checks=True)
    payload = json.loads((project / "target" / "run_results.json").read_text())
    assert [c["unexpected_count"] for c in payload["checks"] if c["name"] == failing.name] == [4]
    assert tables(project) == before
    assert duckdb_tables(project / "target" / "test_serving.duckdb", OUTPUT_NAMES) == served
    assert not [t for t in warehouse_tables(project) if t.startswith("__clg")]


def test_a_serving_file_behind_the_warehouse_is_written_whole(project):
    """A build killed after its publish committed but before the serving file was swapped leaves
    that file a build behind: the next build must not apply its delta to it, but write it whole."""
    events = random_events(random.Random(6), 80, START, 30)
    write_events(project, events)
    write_customers(project, [(c, START + timedelta(days=c)) for c in range(1, 13)])
    as_of = START + timedelta(days=30)
    serving = project / "target" / "test_serving.duckdb"
    run(project, as_of)
    behind = serving.read_bytes()
    for customer in (4, 7):
        events.append((customer, "c", as_of - timedelta(hours=customer), "x"))
        write_events(project, events)
        run(project, as_of)
        assert json.loads((project / "target" / "run_results.json").read_text())["serving"] == "copy"
    serving.write_bytes(behind)  # as if the last build had died before its swap: two builds behind
    events.append((9, "a", as_of - timedelta(hours=3), "y"))
    write_events(project, events)
    assert run(project, as_of) == "incremental" and results(project)["milestone_status"].startswith("delta")
    assert json.loads((project / "target" / "run_results.json").read_text())["serving"] == "full"
    warehouse = tables(project)
    assert duckdb_tables(serving, OUTPUT_NAMES) == {t: warehouse[t] for t in OUTPUT_NAMES}
