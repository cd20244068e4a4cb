"""Built-in checks in incremental builds read only the new events and equal a full check run
(issue 14, item 2): random appends with duplicated ids (of old events and among the new), NULL
ids, new unknown customers, customers added that make old events known and removed that make
them unknown, ``as_of`` moving forward (events after it), late events; and the cases that must
run the checks in full (an edited old event, an earlier ``as_of``), on DuckDB and PostgreSQL."""

from __future__ import annotations

import csv
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlglot import exp

import clg_metrics.runner as runner
from clg_metrics.dialects import to_sql
from clg_metrics.runner import Settings, build, load_context

JOURNEY = """\
journey: j
events:
  from: events
  checks:
    - {expect: expect_column_values_to_be_in_set, column: format, value_set: [csv, pdf], mostly: 0.5}
    - {expect: expect_column_values_to_not_be_null, column: format, mostly: 0.3}
customers: {from: customers}
phases:
  - phase: p
    milestones:
      - milestone: first
        reached_when: {event: a}
      - milestone: csv_b
        reached_when: {event: b, at_least: 2, where: {format: csv}}
      - milestone: xls_c
        reached_when: {event: c, where: {format: xls}}
      - milestone: never
        reached_when: {any: [{event: d}, {event: zzz}]}
"""
# error checks that the data breaks on purpose are warnings, so that every build publishes
PROJECT = """\
name: inc_checks
profile: test
incremental: {lookback_hours: 48}
checks:
  events.event_id.unique: {severity: warn}
  events.customer_id.not_null: {severity: warn}
  events.event_name.not_null: {severity: warn}
  events.occurred_at.not_null: {severity: warn}
"""
START = datetime(2024, 1, 1)
EVENT_COLUMNS = ["event_id", "customer_id", "event_name", "occurred_at", "format"]


def write_seeds(root: Path, events: list[tuple], customers: list[int]) -> None:
    with (root / "seeds" / "events.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(EVENT_COLUMNS)
        for event_id, customer, name, when, fmt in events:
            writer.writerow(["" if v is None else v for v in
                             (event_id, customer, name, when.isoformat(sep=" ") if when else None, fmt)])
    with (root / "seeds" / "customers.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["customer_id", "signed_up_at"])
        for customer in customers:
            writer.writerow([customer, START.isoformat(sep=" ")])


class Recorder:
    """The real engine, noting the queries the source checks and the plan send (to tell which
    read every event)."""

    def __init__(self, engine, log):
        self.engine, self.log = engine, log

    def fetch(self, query, *args, **kwargs):
        if self.log.phase and isinstance(query, exp.Expr):
            self.log.queries.append((self.log.phase, query))
        return self.engine.fetch(query, *args, **kwargs)

    def create_table_as(self, table, query, *args, **kwargs):
        if self.log.phase and isinstance(query, exp.Expr):
            self.log.queries.append((self.log.phase, query))
        return self.engine.create_table_as(table, query, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.engine, name)


class Log:
    def __init__(self):
        self.phase, self.queries = None, []


@pytest.fixture
def recorded(monkeypatch):
    log = Log()
    connect, check, plan = runner.connect, runner.check, runner.plan_journeys

    def phase(name, fn):
        def wrapped(*args, **kwargs):
            if name == "checks" and not kwargs.get("keep_state"):
                return fn(*args, **kwargs)  # the output checks
            log.phase = name
            try:
                return fn(*args, **kwargs)
            finally:
                log.phase = None
        return wrapped

    monkeypatch.setattr(runner, "connect", lambda *a, **k: Recorder(connect(*a, **k), log))
    monkeypatch.setattr(runner, "check", phase("checks", check))
    monkeypatch.setattr(runner, "plan_journeys", phase("plan", plan))
    return log


def full_scans(queries, since: datetime, samples_of_old_events: bool = False) -> list[str]:
    """The SELECTs over the events that read old events for more than the fingerprint: none may
    lack the new-events predicate, but the one scan of fingerprints (and the old ids' range) and
    the probe of new ids among the old ones (``IN`` a query of the new events); and, with
    ``samples_of_old_events``, a sample (LIMIT) of old events (the unknown-customer check's when
    customers were added: its stored sample rows may have become known)."""
    since_text = since.strftime("%Y-%m-%d %H:%M:%S.%f")
    out = []
    for _, query in queries:
        limit = query.args.get("limit")
        sample = limit is not None and int(limit.expression.name) <= 5
        for select in query.find_all(exp.Select):
            source = select.args.get("from_")
            if source is None or not isinstance(source.this, exp.Table) or not source.this.name.endswith("events"):
                continue
            where = select.args.get("where")
            sql = to_sql(where.this, "duckdb") if where else ""
            if f"> CAST('{since_text}'" in sql or (where and any(i.args.get("query") for i in where.find_all(exp.In))):
                continue
            if samples_of_old_events and sample and f"<= CAST('{since_text}'" in sql:
                continue
            if where is None and all(isinstance(e.unalias(), exp.Filter) or isinstance(e.unalias(), exp.Cast)
                                     for e in select.expressions) and not select.args.get("limit"):
                fingerprint = all(isinstance(f, exp.LTE) for e in select.expressions for f in
                                  [x.expression.this for x in e.find_all(exp.Filter)])
                if fingerprint:
                    continue
            out.append(to_sql(select, "duckdb"))
    return out


def reads_events(query: exp.Expr) -> bool:
    return any(t.name.endswith("events") for t in query.find_all(exp.Table))


def dq(root: Path, engine_target) -> dict:
    """The last run's dq_results rows by check name: (status, count, sample)."""
    engine = engine_target(root)
    try:
        _, rows = engine.fetch(f"SELECT check_name, status, unexpected_count, sample, run_id FROM "
                               f"{engine.quote('dq_results')}")
    finally:
        engine.close()
    last = max(r[4] for r in rows)
    return {r[0]: (r[1], r[2], json.loads(r[3]) if r[3] else None) for r in rows
            if r[4] == last and not r[0].startswith(("milestone_status.", "funnel."))}  # the source checks


def run_build(root: Path, as_of: datetime, target: str | None, full_refresh=False):
    ctx = load_context(Settings(project_dir=root, as_of=as_of.isoformat(), target=target))
    return build(ctx, full_refresh=full_refresh)


# samples whose rows are any of the unexpected ones (LIMIT without ORDER BY in a full run too):
# checked for being unexpected rows and for their number; the others must be equal
ROW_SAMPLES = ("events.event_id.unique", "events.customer_id.in_customers", "events.occurred_at.at_or_before_as_of",
               "events.format.column_values_to_be_in_set")


def assert_same_results(incremental: dict, full: dict, events, customers, as_of) -> bool:
    assert {k: v[:2] for k, v in incremental.items()} == {k: v[:2] for k, v in full.items()}, (as_of, events)
    ids = [e[0] for e in events if e[0] is not None]
    duplicated = {str(i) for i in ids if ids.count(i) > 1}
    unknown = {str(e[1]) for e in events if e[1] is not None and e[1] not in customers}
    for name, (_, count, sample) in full.items():
        mine = incremental[name][2]
        if name not in ROW_SAMPLES:
            assert mine == sample, name
            continue
        assert (len(mine) if mine else 0) == (len(sample) if sample else 0), (name, mine, sample)
        for value in mine or []:
            if name.endswith("unique"):
                assert str(value) in duplicated, (name, value)
            elif name.endswith("in_customers"):
                assert str(value[1]) in unknown, (name, value)
            elif name.endswith("as_of"):
                assert datetime.fromisoformat(value[3]) > as_of, (name, value)
            else:
                assert value not in ("csv", "pdf", None), (name, value)
    return True


def random_events(rng: random.Random, first_id: int, n: int, start: datetime, days: float, old_ids: list[int]):
    out = []
    for i in range(n):
        roll = rng.random()
        event_id = first_id + i
        if roll < 0.04 and old_ids:
            event_id = rng.choice(old_ids)  # a duplicate of an old event's id
        elif roll < 0.07 and out:
            event_id = rng.choice(out)[0]  # a duplicate among the new
        elif roll < 0.09:
            event_id = None
        customer = None if rng.random() < 0.03 else rng.randint(1, 30)
        name = None if rng.random() < 0.02 else rng.choice("abcx")
        when = None if rng.random() < 0.02 else start + timedelta(minutes=rng.randint(0, int(days * 1440)))
        out.append((event_id, customer, name, when, rng.choice(["csv", "pdf", "xls", None])))
    return out


def open_duckdb(root: Path):
    from clg_metrics.engines import connect
    from clg_metrics.profiles import DuckDBTarget

    return connect(DuckDBTarget(type="duckdb", path=str(root / "target" / "test.duckdb")), root)


@pytest.fixture(params=["duckdb", "postgres"])
def target(request, make_project, tmp_path):
    """(project factory, target name, a function opening the project's warehouse)."""
    from clg_metrics.engines import connect

    if request.param == "duckdb":
        yield make_project, None, open_duckdb
        return
    import uuid

    from engines import drop_schema, postgres_target

    schemas: dict[Path, str] = {}

    def make(files, name="proj"):
        schema = f"clg_ci_{uuid.uuid4().hex[:8]}"
        body = ", ".join(f"{k}: \"{v}\"" if isinstance(v, str) else f"{k}: {v}" for k, v in
                         postgres_target(schema).model_dump(exclude_none=True).items())
        profile = f"test:\n  target: dev\n  outputs:\n    dev: {{{body}}}\n"
        root = make_project({**files, "profiles.yml": profile}, name)
        schemas[root] = schema
        return root

    def open_postgres(root):
        return connect(postgres_target(schemas[root]), root)

    yield make, None, open_postgres
    for schema in schemas.values():
        engine = connect(postgres_target(schema), tmp_path)
        drop_schema(engine)
        engine.close()


def plain_checks(root: Path, as_of: datetime, open_engine) -> dict:
    """The same checks run in full on the published tables, by the plain path (``checks/fast.py``,
    which ``test_checks_fast.py`` and ``test_checks_shared_scan.py`` hold to great-expectations)."""
    from clg_metrics.checks.derive import source_checks
    from clg_metrics.checks.fast import run_fast_checks
    from clg_metrics.loader import load_project

    engine = open_engine(root)
    try:
        physical = lambda r: r if "." in r else f"{engine.schema}.{r}"  # noqa: E731
        checks = source_checks(load_project(root), as_of, None, lambda r: engine.columns(physical(r)))
        results = run_fast_checks(engine, checks, physical)
    finally:
        engine.close()
    return {r.check.name: (r.status, r.unexpected_count, json.loads(r.sample) if r.sample else None)
            for r in results}


def first_build(make, name, rng, event_count: int, customer_count: int):
    """A project of JOURNEY over ``event_count`` random events of 30 days and customers
    1..customer_count - 1, built once as of the 30th day; (root, events, customers, as_of)."""
    root = make({"clg_project.yml": PROJECT, "milestones/j.yml": JOURNEY})
    (root / "seeds").mkdir()
    events = random_events(rng, 0, event_count, START, 30, [])
    customers = list(range(1, customer_count))
    as_of = START + timedelta(days=30)
    write_seeds(root, events, customers)
    run_build(root, as_of, name)
    return root, events, customers, as_of


@pytest.mark.parametrize("seed", [0])
def test_incremental_checks_equal_full_checks_and_read_only_new_events(target, recorded, seed):
    make, name, open_engine = target
    rng = random.Random(seed)
    root, events, customers, as_of = first_build(make, name, rng, 120, 20)  # in full: no state yet
    assert_same_results(dq(root, open_engine), plain_checks(root, as_of, open_engine), events, customers, as_of)
    steps = ["append", "customers_added", "customers_removed", "nothing"]
    for step, what in enumerate(steps):
        previous, as_of = as_of, as_of + timedelta(days=rng.choice([0, 1, 3]))
        if what == "customers_added":
            customers += [25, 26, 27, 28, 29, 30, 40]  # old events of 25..30 become known
        elif what == "customers_removed":
            customers = [c for c in customers if c not in (2, 3, 26)]  # old events of these become unknown
        if what != "nothing":  # new events, some after as_of; late ones inside the 48 h lookback
            old_ids = [e[0] for e in events if e[0] is not None]
            events += random_events(rng, len(events) + 1000 * (step + 1), 40, previous, 6, old_ids)
            events += [(None if i == 0 else 90_000 + 10 * step + i, rng.randint(1, 35), "a",
                        previous - timedelta(hours=rng.randint(1, 40)), "csv") for i in range(3)]
        write_seeds(root, events, customers)
        recorded.queries.clear()
        report = run_build(root, as_of, name)
        assert [r.message.split("; ")[0] for r in report.models if r.kind == "journey"] == ["incremental"]
        since = previous - timedelta(hours=48)
        assert full_scans(recorded.queries, since, samples_of_old_events=what == "customers_added") == [], (seed, step)
        # the plan's fingerprints came from the checks' scan: the plan read no event
        assert not [q for phase, q in recorded.queries if phase == "plan" and reads_events(q)]
        assert_same_results(dq(root, open_engine), plain_checks(root, as_of, open_engine), events, customers, as_of)


def test_an_edited_old_event_or_an_earlier_as_of_runs_the_checks_in_full(target, recorded):
    make, name, open_engine = target
    rng = random.Random(11)
    root, events, customers, as_of = first_build(make, name, rng, 100, 25)
    events[5] = (events[5][0], 999, "b", START + timedelta(days=1), "csv")  # an old event edited
    write_seeds(root, events, customers)
    recorded.queries.clear()
    run_build(root, as_of + timedelta(days=1), name)
    assert full_scans(recorded.queries, as_of - timedelta(hours=48))  # the checks read every event
    assert_same_results(dq(root, open_engine), plain_checks(root, as_of + timedelta(days=1), open_engine),
                        events, customers, as_of + timedelta(days=1))
    recorded.queries.clear()
    when = as_of - timedelta(days=2)
    run_build(root, when, name)  # an earlier as_of: every event may be after it now
    assert full_scans(recorded.queries, as_of - timedelta(hours=48))
    assert_same_results(dq(root, open_engine), plain_checks(root, when, open_engine), events, customers, when)


def probes(queries) -> int:
    """How many queries probe old events for new ids (``IN`` a subquery)."""
    return sum(1 for _, q in queries for i in q.find_all(exp.In) if i.args.get("query") is not None)


@pytest.mark.parametrize("ids", ["growing", "text"])
def test_ids_that_grow_need_no_probe_of_the_old_events(make_project, recorded, ids):
    """Ids that grow with time (a sequence, as the benchmark's) are checked against the old ones by
    their range alone; ids without an order that says so (text here) are probed, and a duplicate
    of an old id is found either way."""
    root = make_project({"clg_project.yml": PROJECT, "milestones/j.yml": JOURNEY})
    (root / "seeds").mkdir()
    rng = random.Random(5)
    label = (lambda i: i) if ids == "growing" else (lambda i: f"e{i:05d}")
    events = [(label(i), rng.randint(1, 9), "a", START + timedelta(hours=i), "csv") for i in range(200)]
    customers = list(range(1, 10))
    as_of = START + timedelta(hours=200)
    write_seeds(root, events, customers)
    run_build(root, as_of, None)
    events += [(label(200 + i), 3, "b", as_of + timedelta(hours=i), "pdf") for i in range(10)]
    as_of += timedelta(hours=12)
    write_seeds(root, events, customers)
    recorded.queries.clear()
    run_build(root, as_of, None)
    assert probes(recorded.queries) == (0 if ids == "growing" else 1)
    found = dq(root, open_duckdb)
    assert found["events.event_id.unique"][:2] == ("pass", 0)
    events.append((label(7), 4, "a", as_of + timedelta(hours=1), "csv"))  # an old id again
    as_of += timedelta(hours=2)
    write_seeds(root, events, customers)
    recorded.queries.clear()
    run_build(root, as_of, None)
    assert probes(recorded.queries) == 1  # the range says they may meet now: probed
    found = dq(root, open_duckdb)
    assert found["events.event_id.unique"] == ("fail", 2, [label(7), label(7)])
