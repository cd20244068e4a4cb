"""Incremental builds: recompute only the customers whose events or signup changed.

Every build records, per journey, a state row in ``clg_state``: the journey's checksum (its
definition and the SQL of the models it reads), the build's ``as_of``, and a fingerprint (count
and hash sum of whole rows) of the events at or before ``cutoff = as_of - lookback``. The next
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
from .compiler.events import CANONICAL, relation_table
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


def fingerprint_query(journey: Journey, relation: str, cutoffs: list[datetime]) -> exp.Select:
    """One scan of the events source: (count, hash sum) of its valid rows at or before each cutoff."""
    mapping = journey.events.columns
    occurred = parse_timestamp(col(mapping.occurred_at, ROW), mapping.timestamp_format)
    hashed = row_hash(ROW)  # the whole row: any column's change shows
    select = exp.select()
    for cutoff in cutoffs:
        keep = exp.Where(this=exp.LTE(this=occurred.copy(), expression=timestamp(cutoff)))
        select = select.select(
            exp.Filter(this=exp.Count(this=exp.Star()), expression=keep.copy()),
            exp.cast(exp.Filter(this=exp.Sum(this=hashed.copy()), expression=keep.copy()), T.VARCHAR))
    valid = [exp.Not(this=exp.Is(this=col(getattr(mapping, n), ROW), expression=exp.null())) for n in CANONICAL]
    return select.from_(exp.alias_(relation_table(relation), ROW)).where(exp.and_(*valid))


def decide(previous: JourneyState | None, checksum: str, as_of: datetime, previous_fingerprint, has_progress: bool,
           full_refresh: bool) -> str:
    """'incremental' or the reason for a full rebuild."""
    if full_refresh:
        return "full: --full-refresh"
    if previous is None or not has_progress:
        return "full: no previous build"
    if previous.checksum != checksum:
        return "full: the journey or a model it reads changed"
    if as_of < previous.as_of:
        return "full: as_of is earlier than the previous build's"
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
