"""The event leaf: ``{event: NAME | [NAME...], at_least: N, where: FILTER, distinct: COLUMN}``.

``EventFilter`` (which events a leaf counts) is shared with the segment language's event leaf;
``EventCondition`` adds the ``reached_when`` threshold: it holds from the N-th matching event on
(with ``distinct``, from the moment the N-th distinct value first appeared).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, StrictInt, field_validator
from sqlglot import exp

from .. import filters
from ..spec_base import ColumnName, EventName, SpecModel
from .base import ConditionKind, Modifiers, MomentContext

if TYPE_CHECKING:
    from ..compiler.events import EventSource


class EventFilter(SpecModel):
    """Which of a customer's events a leaf counts: by name, ``where`` filter, and ``distinct`` column."""

    event: EventName | list[EventName]
    where: str | dict[str, Any] | None = None
    distinct: ColumnName | None = None

    @field_validator("event")
    @classmethod
    def _names(cls, value):
        if isinstance(value, list) and not value:
            raise ValueError("list at least one event name")
        return value

    @field_validator("where")
    @classmethod
    def _filter(cls, value):
        if value is not None:
            filters.validate_filter(value)
        return value

    @property
    def event_names(self) -> tuple[str, ...]:
        names = [self.event] if isinstance(self.event, str) else self.event
        return tuple(dict.fromkeys(names))

    def event_predicate(self, source: EventSource, sql_dialect: str) -> exp.Expr:
        """Which staged events the leaf counts: its event name(s) and its ``where``.

        A ``where`` string is parsed in the project's ``sql_dialect`` whatever the target: it is
        written once and must mean the same on every warehouse.
        """
        names = self.event_names
        if len(names) == 1:
            predicate: exp.Expr = exp.EQ(this=exp.column("event_name", quoted=True),
                                         expression=filters.literal(names[0]))
        else:
            predicate = exp.In(this=exp.column("event_name", quoted=True),
                               expressions=[filters.literal(n) for n in names])
        if self.where is None:
            return predicate
        if isinstance(self.where, dict):
            where = filters.build_mapping_filter(self.where, source.resolve)
        else:
            where = filters.parse_sql_filter(self.where, sql_dialect)
            for column in list(where.find_all(exp.Column)):
                column.replace(source.resolve(column.name))
        return exp.and_(predicate, exp.Paren(this=where))


class EventCondition(Modifiers, EventFilter, ConditionKind):
    """``{event: ..., at_least: N}``: holds from the time of the N-th matching event on."""

    KEY: ClassVar[str] = "event"
    READS_EVENTS: ClassVar[bool] = True

    at_least: StrictInt = Field(default=1, ge=1, le=10_000)

    def moment(self, ctx: MomentContext, alias: str) -> exp.Expr:
        return ctx.leaf(alias)
