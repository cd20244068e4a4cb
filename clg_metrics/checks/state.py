"""What the built-in checks keep between builds, so that the next build reads only the new events.

``clg_check_state`` holds one row per check on a journey's events source: the counts the check is
made of over the events at or before the build's ``cutoff`` (``as_of - lookback``, the journeys'
cutoff), a sample of those events' unexpected values, and the fingerprint (count and hash sum of
whole rows, as ``incremental.py`` computes it) of those events. The unknown-customer check keeps
per-customer-id event counts instead, in a table of its own (``detail_table``): whether an old
event's customer is known can change without the event changing, when the customers source
does. It is published in the build's one transaction, with ``clg_state`` (``phases/publish.py``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlglot import exp

from ..compiler.sqlfns import rows_query
from ..filters import literal
from .results import T

CHECK_STATE_TABLE = "clg_check_state"
IDS_TABLE_PREFIX = "clg_check_ids_"  # + a hash of the check: per-customer-id counts (``detail_table``)
CHECK_STATE_COLUMNS: tuple[tuple[str, T], ...] = (
    ("relation", T.VARCHAR), ("check_name", T.VARCHAR), ("signature", T.VARCHAR), ("cutoff", T.TIMESTAMP),
    ("as_of", T.TIMESTAMP), ("event_count", T.BIGINT), ("event_hash", T.VARCHAR), ("counts", T.VARCHAR),
    ("sample", T.VARCHAR), ("detail_table", T.VARCHAR), ("built_at", T.TIMESTAMP),
)


@dataclass(frozen=True)
class StoredCheck:
    """One check's state: ``counts`` and ``sample`` over the events at or before ``cutoff``."""

    relation: str
    check_name: str
    signature: str
    cutoff: datetime
    as_of: datetime
    event_count: int
    event_hash: str
    counts: tuple[int, ...]
    sample: tuple = ()
    detail_table: str | None = None


@dataclass
class CheckStateUpdate:
    """What this build publishes: the rows of the relations it checked (replacing theirs), and the
    per-customer-id tables it staged as ``__clg_next__<name>``."""

    rows: list[StoredCheck] = field(default_factory=list)
    relations: set[str] = field(default_factory=set)
    staged: list[str] = field(default_factory=list)
    modes: dict[str, str] = field(default_factory=dict)  # relation -> incremental | full: why
    new_rows: dict = field(default_factory=dict)  # relation -> the query of its new events (incremental)


def ids_table(relation: str, check_name: str) -> str:
    """The per-customer-id counts table of one check (a hash: names must stay short and plain)."""
    return IDS_TABLE_PREFIX + hashlib.sha1(f"{relation}\0{check_name}".encode()).hexdigest()[:12]


def read_state(engine) -> dict[tuple[str, str], StoredCheck]:
    """The published check state by (relation, check name); empty if there is none (or it cannot
    be read: then every check runs in full, which is always right)."""
    if CHECK_STATE_TABLE not in engine.tables():
        return {}
    names = [n for n, _ in CHECK_STATE_COLUMNS][:-1]
    query = exp.select(*[exp.column(n, quoted=True) for n in names]).from_(
        exp.table_(CHECK_STATE_TABLE, db=engine.schema, quoted=True))
    try:
        _, rows = engine.fetch(query)
        out = {}
        for r in rows:
            counts = tuple(int(v) for v in json.loads(r[7]))
            sample = tuple(json.loads(r[8])) if r[8] else ()
            out[(r[0], r[1])] = StoredCheck(r[0], r[1], r[2], r[3], r[4], int(r[5]), str(r[6]), counts, sample, r[9])
        return out
    except Exception:  # a table of another version: start over
        return {}


def state_rows_query(update: CheckStateUpdate, built_at: datetime, keep_from: str | None) -> exp.Query:
    """The new clg_check_state: the previous rows of relations not checked now, and this build's."""
    kept = None
    if keep_from is not None:
        kept = exp.select(*[exp.column(n, quoted=True) for n, _ in CHECK_STATE_COLUMNS]).from_(exp.to_table(keep_from))
        if update.relations:
            kept = kept.where(exp.Not(this=exp.In(this=exp.column("relation"),
                                                  expressions=[literal(r) for r in sorted(update.relations)])))
    rows = [(s.relation, s.check_name, s.signature, s.cutoff, s.as_of, s.event_count, s.event_hash,
             json.dumps(list(s.counts)), json.dumps(list(s.sample), default=str) if s.sample else None,
             s.detail_table, built_at) for s in update.rows]
    return rows_query(CHECK_STATE_COLUMNS, rows, kept)


def stage_check_state(run, staged_prefix: str) -> list[tuple[str, str]]:
    """Stage clg_check_state for the publish transaction; the renames that publish it and the
    per-customer-id tables the checks staged."""
    update = run.check_state
    engine = run.engine
    previous = f"{engine.schema}.{CHECK_STATE_TABLE}" if CHECK_STATE_TABLE in engine.tables() else None
    built_at = datetime.now(timezone.utc).replace(tzinfo=None)
    engine.create_table_as(staged_prefix + CHECK_STATE_TABLE, state_rows_query(update, built_at, previous))
    return [(staged_prefix + CHECK_STATE_TABLE, CHECK_STATE_TABLE)] + [(staged_prefix + n, n) for n in update.staged]


def staged_tables(run, staged_prefix: str) -> list[str]:
    """The tables the checks staged (dropped with the build's other staged tables on a failure)."""
    return [staged_prefix + n for n in run.check_state.staged] if run.check_state is not None else []
