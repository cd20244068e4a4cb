"""Staging of a journey's events source: column mapping, NULL and ``as_of`` filters, filter columns.

This is the only place that knows the source's own column names; everything downstream reads
the staged columns ``customer_id``, ``event_name``, ``occurred_at`` plus the source columns that
filters and ``distinct`` use, under their own names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlglot import exp

from ..errors import CompileError, did_you_mean
from ..spec import EventColumns
from .sqlfns import col, parse_timestamp, timestamp

CANONICAL = ("customer_id", "event_name", "occurred_at")
PROPERTIES = "properties"  # a JSON column whose keys `where` may name when no column has that name


@dataclass
class EventSource:
    """What the compiler knows of a journey's events relation."""

    relation: str  # as written in the journey: a seed, a model or schema.table
    mapping: EventColumns
    columns: list[str] | None  # the relation's columns when known (None: a warehouse table, offline)
    used: dict[str, None] = field(default_factory=dict)  # extra source columns the filters read

    def resolve(self, key: str, sample: Any = None) -> exp.Expr:
        """The staged expression a filter or ``distinct`` key names: a column, else a JSON property."""
        if key in CANONICAL:
            return col(key)
        resolved = column_or_property(self.relation, self.columns, key, sample, self.mapping.properties)
        self.used[key if self.columns is None or key in self.columns else self.mapping.properties] = None
        return resolved

    def staging_query(self, as_of: datetime) -> exp.Select:
        """SELECT the canonical and used columns of the source, events at or before ``as_of`` only."""
        source = {name: col(getattr(self.mapping, name)) for name in CANONICAL}
        if self.columns is not None:
            missing = [getattr(self.mapping, n) for n in CANONICAL if getattr(self.mapping, n) not in self.columns]
            if missing:
                hint = did_you_mean(missing[0], self.columns) or "map them with `columns:` in the journey"
                raise CompileError(f"events source `{self.relation}` has no column "
                                   + ", ".join(f"`{m}`" for m in missing) + f" ({hint})")
        occurred = parse_timestamp(source["occurred_at"], self.mapping.timestamp_format)
        projections = [
            exp.alias_(source["customer_id"], "customer_id", quoted=True),
            exp.alias_(source["event_name"], "event_name", quoted=True),
            exp.alias_(occurred, "occurred_at", quoted=True),
        ]
        projections += [col(name) for name in self.used if name not in CANONICAL]
        conditions = [exp.Not(this=exp.Is(this=source[n].copy(), expression=exp.null())) for n in CANONICAL]
        conditions.append(exp.LTE(this=occurred.copy(), expression=timestamp(as_of)))
        return exp.select(*projections).from_(relation_table(self.relation), copy=False).where(exp.and_(*conditions), copy=False)


def column_or_property(relation: str, columns: list[str] | None, key: str, sample: Any = None,
                       properties: str = PROPERTIES) -> exp.Expr:
    """What a filter key names in a relation: its column, else a key of its JSON ``properties``.

    JSON values come out as text; compared with a number or a boolean they are cast to it,
    because engines differ on comparing text with numbers (PostgreSQL refuses to).
    """
    if columns is None or key in columns:
        return col(key)
    if properties in columns:
        path = exp.JSONPath(expressions=[exp.JSONPathRoot(), exp.JSONPathKey(this=key)])
        value: exp.Expr = exp.JSONExtractScalar(this=col(properties), expression=path)
        if isinstance(sample, bool):
            value = _cast_if(exp.In(this=exp.Lower(this=value.copy()), expressions=[
                exp.Literal.string("true"), exp.Literal.string("false")]), value, exp.DataType.Type.BOOLEAN)
        elif isinstance(sample, (int, float)):
            value = _cast_if(exp.RegexpLike(this=value.copy(), expression=exp.Literal.string(_NUMBER)), value,
                             exp.DataType.Type.DOUBLE)
        return value
    hint = did_you_mean(key, columns) or "columns: " + ", ".join(columns)
    raise CompileError(f"`{key}` is not a column of `{relation}` and it has no JSON `{properties}` column ({hint})")


def relation_table(name: str) -> exp.Table:
    """A relation name (``name`` or ``schema.name``) as a sqlglot table."""
    parts = name.split(".")
    return exp.table_(parts[-1], db=parts[-2] if len(parts) > 1 else None,
                      catalog=parts[-3] if len(parts) > 2 else None)


# A JSON property compared with a number matches only where it holds a number: a plain CAST of
# `true` or `"n/a"` would stop the whole build with a raw engine error (TRY_CAST is not portable:
# PostgreSQL and Spark render it as CAST), so the cast is guarded and anything else is NULL.
_NUMBER = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"


def _cast_if(guard: exp.Expr, value: exp.Expr, to: exp.DataType.Type) -> exp.Expr:
    return exp.Case(ifs=[exp.If(this=guard, true=exp.cast(value, to))])
