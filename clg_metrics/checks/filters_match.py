"""The built-in check that every event leaf's ``where`` filter matches some event of its names
(``<events>.<journey>.filters_match``), and the did-you-mean shown when one matches nothing: a
filter that silently matches nothing would publish a funnel of zeros."""

from __future__ import annotations

import json
from datetime import datetime

from sqlglot import exp

from ..compiler.events import EventSource
from ..compiler.sqlfns import col
from ..conditions import walk
from ..errors import CompileError
from ..filters import literal
from ..loader import Project
from .derive import BATCH

class _Reading(EventSource):
    """An ``EventSource`` that also notes the keys a leaf's ``where`` reads (for the hint)."""

    def __init__(self, relation, mapping, columns):
        super().__init__(relation, mapping, columns)
        self.read: dict[str, None] = {}

    def resolve(self, key, sample=None):
        self.read[key] = None
        return super().resolve(key, sample)


def _filter_text(where) -> str:
    if isinstance(where, str):
        return where
    return "{" + ", ".join(f"{k}: {json.dumps(v) if not isinstance(v, str) else v}" for k, v in where.items()) + "}"


def _filtered_leaves(journey) -> list[tuple[str, str, object]]:
    """(``milestone``|``segment``, its name, leaf) for every event leaf with a ``where``, in order."""
    places = [("milestone", m.milestone, m.reached_when) for _, m in journey.milestones]
    places += [("segment", s.segment, s.when) for s in journey.segments]
    return [(kind, name, node) for kind, name, tree in places for node, _, _ in walk(tree)
            if node.READS_EVENTS and node.where is not None]


def _staged_source(journey, columns, as_of: datetime, sql_dialect: str):
    """(source, [(leaf predicate, event-name predicate)], staged events reading BATCH), built with
    the compiler's own pieces so that the check counts exactly what the journey counts."""
    source = _Reading(journey.events.from_, journey.events.columns, columns)
    leaves = _filtered_leaves(journey)
    predicates = [(node.event_predicate(source, sql_dialect),
                   node.model_copy(update={"where": None}).event_predicate(source, sql_dialect))
                  for _, _, node in leaves]
    staged = source.staging_query(as_of)
    staged.from_(exp.to_table(BATCH), copy=False)
    return source, leaves, predicates, staged


def unmatched_filters_query(journey, columns, as_of: datetime, sql_dialect: str) -> exp.Query | None:
    """Rows (kind, name, filter, events of its names) for each leaf whose ``where`` matches none of
    the events of its event names: one aggregate over the staged events, one count per leaf. A
    leaf whose event names do not occur at all is ``event_names_occur``'s to report."""
    leaves = _filtered_leaves(journey)
    if not leaves:
        return None
    try:
        _, leaves, predicates, staged = _staged_source(journey, columns, as_of, sql_dialect)
    except CompileError:  # a filter naming no column: compiling the journey reports it, located
        return None
    counts = exp.select(*[exp.alias_(exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=p)),
                                     f"{prefix}{i}", quoted=True)
                          for i, pair in enumerate(predicates) for prefix, p in zip(("m", "e"), pair)])
    counts = counts.from_(staged.subquery("ev"))
    values = exp.Values(expressions=[exp.Tuple(expressions=[literal(i), literal(kind), literal(name),
                                                            literal(_filter_text(node.where))])
                                     for i, (kind, name, node) in enumerate(leaves)],
                        alias=exp.TableAlias(this=exp.to_identifier("v"), columns=[
                            exp.to_identifier(c) for c in ("i", "kind", "name", "filter")]))
    unmatched = exp.or_(*[exp.and_(exp.EQ(this=col("i", "v"), expression=literal(i)),
                                   exp.EQ(this=col(f"m{i}", "c"), expression=literal(0)),
                                   exp.GT(this=col(f"e{i}", "c"), expression=literal(0)))
                          for i in range(len(leaves))])
    return (exp.select(col("kind", "v"), col("name", "v"), col("filter", "v"), exp.alias_(
        exp.Case(ifs=[exp.If(this=exp.EQ(this=col("i", "v"), expression=literal(i)), true=col(f"e{i}", "c"))
                      for i in range(len(leaves))]), "events_of_names"))
            .from_(counts.subquery("c")).join(values, join_type="CROSS").where(unmatched))


def leaf_counts(journey, columns, as_of: datetime, sql_dialect: str):
    """The same counts as ``unmatched_filters_query``, as predicates over the source's own rows
    (``derive.LeafCounts``) so that the shared scan counts them with the other checks: the staged
    columns ``customer_id``, ``event_name``, ``occurred_at`` become the source expressions they
    stage, and the staging's own conditions (no NULL, at or before ``as_of``) join each predicate."""
    from .derive import LeafCounts

    if not _filtered_leaves(journey):
        return None
    try:
        source, leaves, predicates, staged = _staged_source(journey, columns, as_of, sql_dialect)
    except CompileError:
        return None
    staged_as = {p.alias: p.this for p in staged.expressions if isinstance(p, exp.Alias)}
    kept = staged.args["where"].this

    def raw(predicate: exp.Expr) -> exp.Expr:
        def swap(node):
            if isinstance(node, exp.Column) and not node.table and node.name in staged_as:
                return staged_as[node.name].copy()
            return node
        return exp.and_(kept.copy(), exp.Paren(this=predicate.transform(swap, copy=True)))

    return LeafCounts(tuple((raw(m), raw(e)) for m, e in predicates),
                      tuple((kind, name, _filter_text(node.where)) for kind, name, node in leaves))


def explain_unmatched_filters(project: Project, result, engine, physical, as_of: datetime,
                              rows: exp.Query | None = None) -> None:
    """A failed ``<events>.<journey>.filters_match``: its hint says, per leaf, which key the filter
    reads that no event of its names has (did you mean a column or property key that occurs?),
    or which values that key does hold (did you mean one?). One query, over those events only (of
    ``rows``, the new events, in an incremental check run)."""
    from ..errors import did_you_mean

    journey_name = result.check.name.split(".")[-2]
    loaded = next((j for j in project.journeys if j.name == journey_name), None)
    if loaded is None or result.status != "fail" or not result.sample:
        return
    journey = loaded.journey
    relation = physical(journey.events.from_.lower())
    try:
        columns = engine.columns(relation)
        failing = {tuple(row[:3]) for row in json.loads(result.sample)}
        source, leaves, predicates, staged = _staged_source(journey, columns, as_of, project.config.sql_dialect)
        picked = [(i, leaf) for i, leaf in enumerate(leaves) if (leaf[0], leaf[1], _filter_text(leaf[2].where)) in failing]
        if not picked:
            return
        read = [k for k in source.used if k not in ("customer_id", "event_name", "occurred_at")]
        staged.from_(rows.subquery("e") if rows is not None else exp.to_table(relation), copy=False)
        query = (exp.select(col("event_name"), *[exp.cast(col(k), exp.DataType.Type.VARCHAR) for k in read])
                 .from_(staged.subquery("ev")).where(exp.or_(*[predicates[i][1].copy() for i, _ in picked]))
                 .distinct().limit(2000))
        _, rows = engine.fetch(query)
    except Exception:  # a courtesy: the warning stands without it
        return
    parts = []
    for _, (kind, name, node) in picked:
        mine = [dict(zip(read, r[1:])) for r in rows if r[0] in node.event_names]
        wanted = _literals(node.where)
        notes = []
        for key in _keys(node, source, project.config.sql_dialect):
            present, seen = _values(key, mine, columns, journey.events.columns.properties)
            if not present:
                keys = sorted(set(columns or []) | {k for r in mine for k in _json(r.get(journey.events.columns.properties))})
                hint = did_you_mean(key, keys) or ("keys that occur: " + ", ".join(f"`{k}`" for k in keys[:10]))
                notes.append(f"no such event has a column or property `{key}` ({hint})")
            else:
                shown = ", ".join(f"`{v}`" for v in seen[:8]) + (", ..." if len(seen) > 8 else "")
                close = next((h for w in wanted if w not in seen for h in [did_you_mean(w, seen)] if h), None)
                notes.append(f"`{key}` holds {shown}" + (f" ({close})" if close else ""))
        names = ", ".join(f"`{n}`" for n in node.event_names)
        parts.append(f"journey `{journey.journey}`, {kind} `{name}`: `where: {_filter_text(node.where)}` matches no "
                     f"{names} event" + (": " + "; ".join(notes) if notes else ""))
    if parts:
        result.hint = "; ".join(parts)


def _keys(node, source, sql_dialect: str) -> list[str]:
    """The keys one leaf's ``where`` reads."""
    source.read = {}
    node.event_predicate(source, sql_dialect)
    return list(source.read)


def _literals(where) -> list[str]:
    if isinstance(where, str):
        from ..filters import parse_sql_filter

        return [str(n.this) for n in parse_sql_filter(where).find_all(exp.Literal)]
    out = []
    for value in where.values():
        for v in (value.values() if isinstance(value, dict) else [value]):
            out += [str(x) for x in (v if isinstance(v, list) else [v]) if x is not None]
    return out


def _json(text) -> dict:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _values(key: str, rows: list[dict], columns, properties: str) -> tuple[bool, list[str]]:
    """(whether any of these events has ``key``, the distinct values it holds there, as text)."""
    if columns is None or key in columns:
        values = [r.get(key) for r in rows]
        return True, sorted({str(v) for v in values if v is not None})
    found = [_json(r.get(properties)) for r in rows]
    present = any(key in f for f in found)
    held = {json.dumps(f[key]) if isinstance(f[key], (dict, list, bool)) or f[key] is None else str(f[key])
            for f in found if key in f}
    return present, sorted(held)
