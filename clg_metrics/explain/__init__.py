"""``clg-metrics explain CUSTOMER``: why a customer is (not) at a milestone, as of the last build.

A customer-success person asks "why is this customer not at first value?". The answer has two
parts, kept apart on purpose:

- the verdict, each milestone's ``status`` and ``reached_at``, is read from the published
  ``milestone_status`` (and segment memberships from ``segment_members`` when it exists): the
  explanation can never contradict what dashboards show;
- the figures under it (each leaf's count against its threshold, the moment it held, a ``per``
  milestone's qualifying periods and runs, ``within`` anchor and deadline, segment conditions'
  values) come from per-customer queries compiled from the same condition trees (``queries.py``)
  over the events at or before the build's ``as_of`` (from ``clg_state``).

The result is a plain document (``Explanation.doc``, the JSON output, documented in README);
``render.py`` turns it into text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlglot import exp

from ..compiler.events import EventSource
from ..compiler.sqlfns import MONDAY_EPOCH_US, US_PER_DAY, US_PER_WEEK, col
from ..conditions import child_alias
from ..errors import ClgError
from ..filters import literal
from ..incremental import STATE_TABLE
from ..models import renamed
from ..spec import Journey
from .queries import ExplainQueries, Known

SEGMENT_MEMBERS = "segment_members"


@dataclass
class Published:
    """Where the published tables are, and how a journey's source relations are read."""

    engine: Any  # engines.Engine
    rename: Callable[[str], str | None]  # project relation -> the table to read

    def table(self, name: str) -> exp.Table:
        return exp.table_(name, db=self.engine.schema, quoted=True)

    def fetch(self, query: exp.Expr, source_dialect: str = "duckdb") -> list[dict]:
        columns, rows = self.engine.fetch(renamed(query, self.rename), source_dialect)
        return [dict(zip(columns, row)) for row in rows]

    def has(self, name: str) -> bool:
        return name in self.engine.tables()


def _customer_is(customer: str) -> exp.Expr:
    """The customer given on the command line (text) against a published id of any type."""
    return exp.EQ(this=exp.cast(col("customer_id"), exp.DataType.Type.VARCHAR), expression=literal(customer))


def _of_journey(journey: str, customer: str) -> exp.Expr:
    return exp.and_(exp.EQ(this=col("journey"), expression=literal(journey)), _customer_is(customer))


def build_as_of(published: Published, journey: str) -> datetime | None:
    """The ``as_of`` of the build that published the journey's tables (``clg_state``)."""
    if not published.has(STATE_TABLE):
        return None
    rows = published.fetch(exp.select(col("as_of")).from_(published.table(STATE_TABLE))
                           .where(exp.EQ(this=col("journey"), expression=literal(journey))))
    return rows[0]["as_of"] if rows else None


def explain_journey(published: Published, journey: Journey, customer: str, as_of: datetime,
                    sql_dialect: str = "duckdb") -> dict | None:
    """The explanation document of one customer in one journey; None if the customer is not in
    the journey's published ``milestone_status``."""
    status = published.fetch(
        exp.select(col("customer_id"), col("milestone_index"), col("phase"), col("milestone"), col("kpi"),
                   col("reached_at"), col("status"))
        .from_(published.table("milestone_status")).where(_of_journey(journey.journey, customer))
        .order_by(col("milestone_index")))
    if not status:
        return None
    progress = published.fetch(exp.select(col("signed_up_at")).from_(published.table("customer_progress"))
                               .where(_of_journey(journey.journey, customer)))
    known = Known(status[0]["customer_id"], progress[0]["signed_up_at"] if progress else None,
                  {r["milestone_index"]: r["reached_at"] for r in status})
    events_from = journey.events.from_
    source = EventSource(events_from, journey.events.columns, published.engine.columns(published.rename(events_from) or events_from))
    customer_columns = None
    if journey.customers is not None:
        name = journey.customers.from_
        customer_columns = published.engine.columns(published.rename(name) or name)
    queries = ExplainQueries(journey, source, as_of, known, customer_columns, sql_dialect)
    summary = published.fetch(queries.summary(), sql_dialect)[0]
    milestones = []
    for (phase, milestone), row in zip(journey.milestones, status):
        i = row["milestone_index"]
        doc: dict[str, Any] = {"index": i, "milestone": milestone.milestone, "phase": phase.phase, "kpi": milestone.kpi,
                               "status": row["status"], "reached_at": row["reached_at"]}
        doc["after"] = _gate(journey, i, known)
        doc["within"] = _within(journey, milestone, i, known)
        if milestone.effective_per is None:
            doc["per"] = None
            doc["condition"] = _node(milestone.reached_when, f"l{i}", summary, known)
        else:
            rows = [_integers(r) for r in published.fetch(queries.periods(i), sql_dialect)]
            doc["per"] = _periods(milestone, i, rows)
            # the figures of the latest period with a matching event (often the current one)
            shown = rows[-1] if rows else {}
            doc["per"]["shown_period"] = period_start(shown["p"], milestone.effective_per) if rows else None
            doc["per"]["shown_is_current"] = bool(rows) and shown["p"] == shown["p_now"]
            doc["condition"] = _node(milestone.reached_when, f"l{i}", shown, known)
        milestones.append(doc)
    members = None
    if journey.segments and published.has(SEGMENT_MEMBERS):
        members = {r["segment"] for r in published.fetch(
            exp.select(col("segment")).from_(published.table(SEGMENT_MEMBERS)).where(_of_journey(journey.journey, customer)))}
    segments = []
    for s, segment in enumerate(journey.segments, 1):
        root = _segment_node(segment.when, f"g{s}", summary, known, as_of)
        segments.append({"segment": segment.segment, "description": segment.description,
                         "member": root["holds"] if members is None else segment.segment in members,
                         "membership_from": "computed" if members is None else SEGMENT_MEMBERS, "condition": root})
    return {"journey": journey.journey, "customer_id": known.customer_id, "as_of": as_of, "order": journey.order,
            "signed_up_at": known.signed_up_at, "events_counted": summary["n_events"],
            "milestones": milestones, "segments": segments}


def _integers(row: dict) -> dict:
    """Period keys and runs as ints (PostgreSQL's integer division gives NUMERIC)."""
    return {k: int(v) if k in ("p", "p_now", "p_gate", "run") and v is not None else v for k, v in row.items()}


def _gate(journey: Journey, i: int, known: Known) -> dict | None:
    """Under sequential order, the previous milestone that gates this one."""
    if journey.order != "sequential" or i == 1:
        return None
    previous = journey.milestones[i - 2][1].milestone
    return {"milestone": previous, "reached_at": known.reached.get(i - 1)}


def _within(journey: Journey, milestone, i: int, known: Known) -> dict | None:
    """``within``: the anchor (as published) and the deadline, anchor + the window."""
    within = milestone.effective_within
    if within is None:
        return None
    names = {m.milestone: n for n, (_, m) in enumerate(journey.milestones, 1)}
    if within.of == "signup":
        anchor = known.signed_up_at
    else:
        anchor = known.reached.get(i - 1 if within.of == "previous" else names[within.of])
    window = timedelta(microseconds=within.microseconds)
    return {"of": within.of, "amount": within.amount, "unit": within.unit, "anchor": anchor,
            "deadline": anchor + window if anchor is not None else None}


def _node(node, alias: str, figures: dict, known: Known) -> dict:
    """A ``reached_when`` node with the customer's figures (``holds_from``: the moment it holds)."""
    doc: dict[str, Any] = {"kind": node.KEY, "holds": figures.get(f"h_{alias}") is not None,
                           "holds_from": figures.get(f"h_{alias}")}
    if node.READS_EVENTS:
        doc.update(event=list(node.event_names), where=node.where, distinct=node.distinct, at_least=node.at_least,
                   count=figures.get(f"n_{alias}") or 0)
    if node.milestone_refs:
        doc["milestone"] = node.milestone
    children = [_node(child, child_alias(alias, n), figures, known) for n, (_, child) in enumerate(node.children())]
    if children:
        doc["children"] = children
    return doc


def _segment_node(node, alias: str, figures: dict, known: Known, as_of: datetime) -> dict:
    """A segment node: true or false (the build's predicate) and the value it looked at."""
    doc: dict[str, Any] = {"kind": node.KEY, "holds": bool(figures.get(f"t_{alias}"))}
    if node.READS_EVENTS:
        doc.update(event=list(node.event_names), where=node.where, distinct=node.distinct, at_least=node.minimum,
                   at_most=node.at_most, in_last=({"amount": node.in_last.amount, "unit": node.in_last.unit}
                                                  if node.in_last else None),
                   count=figures.get(f"n_{alias}") or 0)
    elif node.KEY == "milestone":
        doc.update(milestone=node.milestone, wants=node.status)
    elif node.KEY == "customer":
        doc["filter"] = node.customer
    elif node.KEY == "signed_up":
        signed = known.signed_up_at
        doc["days_ago"] = round((as_of - signed) / timedelta(days=1), 2) if signed is not None else None
        doc["bounds"] = {op: v for op, v in node.signed_up.days_ago.model_dump().items() if v is not None}
    children = [_segment_node(child, child_alias(alias, n), figures, known, as_of)
                for n, (_, child) in enumerate(node.children())]
    if children:
        doc["children"] = children
    return doc


def period_start(key: int, grain: str) -> date:
    """The first day of the period numbered ``key`` by ``sqlfns.period_key`` (display only)."""
    if grain == "month":
        return date((key - 1) // 12, (key - 1) % 12 + 1, 1)
    width = US_PER_DAY if grain == "day" else US_PER_WEEK
    return (datetime(1970, 1, 1) + timedelta(microseconds=key * width + MONDAY_EPOCH_US)).date()


def _periods(milestone, i: int, rows: list[dict]) -> dict:
    """A ``per`` milestone's periods: those in which it held (with their place in a run), the
    longest run, the periods that end a streak, and the gate's period."""
    grain, streak = milestone.effective_per, milestone.effective_streak or 1
    qualifying = [{"period_start": period_start(r["p"], grain), "holds_from": r[f"h_l{i}"], "run": r["run"]}
                  for r in rows if r["run"] is not None]
    gate = rows[0]["p_gate"] if rows else None
    return {"per": grain, "streak": streak, "qualifying": qualifying,
            "longest_run": max((q["run"] for q in qualifying), default=0),
            "streak_ends": [q["period_start"] for q in qualifying if q["run"] >= streak],
            "counts_from": period_start(gate, grain) if gate is not None else None}


def explain(ctx, customer: str, journey: str | None = None) -> list[dict]:
    """The explanation of a customer in each journey they are in (or in ``journey``), as of the
    build that published the tables; a clear error (exit 2) for an unknown customer."""
    from ..engines import connect
    from ..errors import did_you_mean, one_of

    journeys = ctx.project.journeys
    if journey is not None:
        names = [j.name for j in journeys]
        if journey not in names:
            raise ClgError(f"--journey: no journey `{journey}` ({did_you_mean(journey, names) or one_of(names)})")
        journeys = [j for j in journeys if j.name == journey]
    engine = connect(ctx.target, ctx.project.root, read_only=True, warehouse=True)
    try:
        published = Published(engine, lambda name: f"{engine.schema}.{name}" if "." not in name else name)
        if "milestone_status" not in engine.tables():
            raise ClgError(f"no milestone_status in {ctx.target_name}: run `clg-metrics build` first")
        docs = []
        for loaded in journeys:
            as_of = build_as_of(published, loaded.name)
            if as_of is None:
                continue  # never built: nothing published to explain
            doc = explain_journey(published, loaded.journey, customer, as_of, ctx.project.config.sql_dialect)
            if doc is not None:
                docs.append(doc)
        if not docs:
            where = f"journey `{journey}`" if journey else "any journey"
            raise ClgError(f"no customer `{customer}` in {where} of the last build "
                           "(list customers with `clg-metrics show customer_progress`)")
        return docs
    finally:
        engine.close()
