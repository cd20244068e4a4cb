"""Incremental builds: recompute only the customers whose events or signup changed.

Every build records, per journey, a state row in ``clg_state``: the journey's checksum (its
definition and the SQL of the models it reads), the build's ``as_of``, and a fingerprint (count
and hash sum of whole rows) of the events at or before ``cutoff = as_of - lookback`` (every such
row, also one without a customer or an event name: the checks' stored counts cover those too). The next
build checks that the events at or before that cutoff are exactly the same; if they are, only
customers with events after the cutoff (and customers whose signup changed) are recomputed, from
their full history, and merged with the previous progress rows. Anything else — a changed
definition, an earlier as_of, a late event older than the lookback, a deleted or edited old
event — makes that journey rebuild in full, so an incremental build always equals a full one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlglot import exp

from .checks.results import T
from .compiler.events import relation_table
from .compiler.sqlfns import col, parse_timestamp, row_hash, rows_query, timestamp
from .filters import literal
from .spec import Journey

STATE_TABLE = "clg_state"
ROW = "clg_row"  # the events source's alias, whose whole rows are hashed
STATE_COLUMNS: tuple[tuple[str, T], ...] = (
    ("journey", T.VARCHAR), ("checksum", T.VARCHAR), ("as_of", T.TIMESTAMP), ("cutoff", T.TIMESTAMP),
    ("event_count", T.BIGINT), ("event_hash", T.VARCHAR), ("mode", T.VARCHAR), ("built_at", T.TIMESTAMP),
)


@dataclass(frozen=True)
class JourneyState:
    journey: str
    checksum: str
    as_of: datetime
    cutoff: datetime
    event_count: int
    event_hash: str
    mode: str = "full"


def occurred(journey: Journey, alias: str | None = ROW) -> exp.Expr:
    """The moment of an event of ``journey``'s source, as the fingerprint's cutoffs compare it."""
    mapping = journey.events.columns
    return parse_timestamp(col(mapping.occurred_at, alias), mapping.timestamp_format)


def fingerprint_aggregates(moment: exp.Expr, cutoffs: list[datetime], alias: str = ROW) -> list[exp.Expr]:
    """(count, hash sum as text) of the rows of ``alias`` whose ``moment`` is at or before each cutoff:
    every such row, whatever its other columns hold (a NULL customer or event name too), so that any
    old row deleted, added or edited shows — the checks' stored counts cover those rows as well."""
    hashed = row_hash(alias)  # the whole row: any column's change shows
    out: list[exp.Expr] = []
    for cutoff in cutoffs:
        keep = exp.Where(this=exp.LTE(this=moment.copy(), expression=timestamp(cutoff)))
        out += [exp.Filter(this=exp.Count(this=exp.Star()), expression=keep.copy()),
                exp.cast(exp.Filter(this=exp.Sum(this=hashed.copy()), expression=keep.copy()), T.VARCHAR)]
    return out


def fingerprint_query(journey: Journey, relation: str, cutoffs: list[datetime]) -> exp.Select:
    """One scan of the events source: (count, hash sum) of its rows at or before each cutoff."""
    return exp.select(*fingerprint_aggregates(occurred(journey), cutoffs)).from_(
        exp.alias_(relation_table(relation), ROW))


def fingerprint_key(journey: Journey, relation: str, cutoff: datetime) -> tuple:
    """What one fingerprint depends on: the physical relation, how its moment is read, the cutoff."""
    mapping = journey.events.columns
    return relation, mapping.occurred_at, mapping.timestamp_format, cutoff


def fingerprints(engine, journey: Journey, relation: str, cutoffs: list[datetime],
                 known: dict | None = None) -> list:
    """[count, hash, count, hash, ...] at each cutoff: from ``known`` (fingerprint_key -> (count,
    hash), filled by the checks' scan of the same relation earlier in the build) when it has them
    all, else from one fingerprint scan (whose values it then keeps)."""
    keys = [fingerprint_key(journey, relation, c) for c in cutoffs]
    if known is not None and all(k in known for k in keys):
        return [v for k in keys for v in known[k]]
    _, rows = engine.fetch(fingerprint_query(journey, relation, cutoffs))
    values = list(rows[0])
    if known is not None:
        known.update({k: (values[2 * i], values[2 * i + 1]) for i, k in enumerate(keys)})
    return values


def decide(previous: JourneyState | None, checksum: str, as_of: datetime, previous_fingerprint, has_progress: bool,
           full_refresh: bool, cutoff: datetime | None = None) -> str:
    """'incremental' or the reason for a full rebuild."""
    if full_refresh:
        return "full: --full-refresh"
    if previous is None:
        return "full: no previous build"
    if not has_progress:
        return "full: its published tables are missing or do not fit its definition"
    if previous.checksum != checksum:
        return "full: the journey or a model it reads changed"
    if as_of < previous.as_of:
        return "full: as_of is earlier than the previous build's"
    if cutoff is not None and cutoff < previous.cutoff:
        return "full: the cutoff is earlier than the previous build's (a longer lookback)"
    if previous_fingerprint != (previous.event_count, previous.event_hash):
        return "full: events at or before the previous cutoff changed (late or edited events)"
    return "incremental"


def cutoff_for(as_of: datetime, lookback: timedelta) -> datetime:
    return as_of - lookback


def state_query(states: list[JourneyState], built_at: datetime, keep_from: str | None) -> exp.Query:
    """The new clg_state: previous rows of journeys not built now, and one row per journey built."""
    kept = None
    if keep_from is not None:
        kept = exp.select(*[exp.column(n, quoted=True) for n, _ in STATE_COLUMNS]).from_(exp.to_table(keep_from))
        if states:
            built = [literal(s.journey) for s in states]
            kept = kept.where(exp.Not(this=exp.In(this=exp.column("journey"), expressions=built)))
    rows = [(s.journey, s.checksum, s.as_of, s.cutoff, s.event_count, s.event_hash, s.mode, built_at) for s in states]
    return rows_query(STATE_COLUMNS, rows, kept)
