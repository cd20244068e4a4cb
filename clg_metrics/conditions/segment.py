"""The segment language (SPEC §4): predicates evaluated once per customer at the build's ``as_of``.

Every kind compiles to a two-valued boolean (``predicate``): anything that cannot hold — a NULL
value, no customers row — is FALSE, so ``not`` of it is TRUE (SQL's three-valued logic would
make it NULL). The compiler answers through ``SegmentContext``; event leaves keep their state in
the journey's one aggregate over the events (``state``), in a form that does not depend on
``as_of`` so that incremental builds can keep an untouched customer's row.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, Protocol

from pydantic import Field, StrictInt, field_validator, model_validator
from sqlglot import exp

from .. import filters
from ..spec_base import Identifier, SpecModel
from .base import ConditionKind, Window, child_alias
from .event import EventFilter

STATUSES = ("reached", "in_progress", "missed", "not_eligible")
US_PER_DAY = 86_400_000_000


class SegmentContext(Protocol):
    """What a segment kind's ``predicate`` may ask of the compiler."""

    as_of: datetime

    def state(self, alias: str, suffix: str) -> exp.Expr:
        """An event leaf's state column in the progress table (see ``SegmentEvent.state``)."""

    def status(self, milestone: str) -> exp.Expr:
        """The milestone's status expression (SPEC §3) for the customer."""

    def signed_up_at(self) -> exp.Expr:
        """The customer's signup (NULL without one)."""

    def customer_matches(self, customer_filter: str | dict[str, Any]) -> exp.Expr:
        """TRUE when a row of the customers source with the customer's id matches the filter."""


def false_if_null(predicate: exp.Expr) -> exp.Expr:
    return exp.Coalesce(this=predicate, expressions=[exp.false()])


def as_of_us(ctx: SegmentContext) -> int:
    from ..compiler.sqlfns import epoch_micros  # the compiler package imports the spec

    return epoch_micros(ctx.as_of)


def number(value: int | Decimal) -> exp.Expr:
    return exp.Literal.number(str(value))


class SegmentKind(ConditionKind):
    """Base of the segment kinds: they compile to a predicate, not a moment."""

    def predicate(self, ctx: SegmentContext, alias: str) -> exp.Expr:
        raise NotImplementedError


class SegmentEvent(EventFilter, SegmentKind):
    """``{event: ..., at_least: N, at_most: M, in_last: {days: D}}``: N <= count <= M."""

    KEY: ClassVar[str] = "event"
    READS_EVENTS: ClassVar[bool] = True

    at_least: StrictInt | None = Field(default=None, ge=0, le=10_000)
    at_most: StrictInt | None = Field(default=None, ge=0, le=10_000)
    in_last: Window | None = None

    @model_validator(mode="after")
    def _bounds(self) -> SegmentEvent:
        if self.at_most is not None and self.at_least is not None and self.at_most < self.at_least:
            raise ValueError(f"`at_most: {self.at_most}` is below `at_least: {self.at_least}`: no count fits")
        return self

    @property
    def minimum(self) -> int:
        """``at_least``, defaulting to 1, or to 0 when ``at_most`` is given (SPEC §4)."""
        if self.at_least is not None:
            return self.at_least
        return 0 if self.at_most is not None else 1

    def state(self) -> dict[str, tuple[str, int]]:
        """The aggregate columns this leaf needs, by suffix: ``("count", 0)`` is the number of
        matching events (distinct values); ``("latest", k)`` the k-th latest matching moment (of each
        distinct value's latest appearance), kept as negated epoch microseconds so that the
        n-th-smallest aggregate serves it. Neither depends on ``as_of``: ``in_last`` is decided
        from the k-th latest moments, so an incremental build may keep an untouched row."""
        if self.in_last is None:
            return {"c": ("count", 0)}
        wanted = {}
        if self.minimum > 0:
            wanted["n"] = ("latest", self.minimum)
        if self.at_most is not None:
            wanted["m"] = ("latest", self.at_most + 1)
        return wanted

    def predicate(self, ctx: SegmentContext, alias: str) -> exp.Expr:
        if self.in_last is None:
            count = exp.Coalesce(this=ctx.state(alias, "c"), expressions=[exp.Literal.number(0)])
            parts = [exp.GTE(this=count, expression=exp.Literal.number(self.minimum))]
            if self.at_most is not None:
                parts.append(exp.LTE(this=count.copy(), expression=exp.Literal.number(self.at_most)))
            return exp.and_(*parts)
        # counted: moments t with t > as_of - D, i.e. -t < D - as_of (in microseconds)
        bound = number(self.in_last.microseconds - as_of_us(ctx))
        parts = []
        if self.minimum > 0:  # the N-th latest is in the window
            parts.append(false_if_null(exp.LT(this=ctx.state(alias, "n"), expression=bound)))
        if self.at_most is not None:  # the (M+1)-th latest is not
            kth = ctx.state(alias, "m")
            parts.append(exp.or_(exp.Is(this=kth, expression=exp.null()),
                                 exp.GTE(this=kth.copy(), expression=bound.copy())))
        return exp.and_(*parts) if parts else exp.true()


class SegmentMilestone(SegmentKind):
    """``{milestone: M, status: S}``: M's status (SPEC §3) is S (``reached`` by default)."""

    KEY: ClassVar[str] = "milestone"

    milestone: Identifier
    status: Literal["reached", "in_progress", "missed", "not_eligible"] = "reached"

    @property
    def milestone_refs(self) -> tuple[str, ...]:
        return (self.milestone,)

    def predicate(self, ctx: SegmentContext, alias: str) -> exp.Expr:
        return exp.EQ(this=ctx.status(self.milestone), expression=exp.Literal.string(self.status))


class SegmentCustomer(SegmentKind):
    """``{customer: FILTER}``: a FILTER over the customers source's own columns."""

    KEY: ClassVar[str] = "customer"

    customer: str | dict[str, Any]

    @field_validator("customer")
    @classmethod
    def _filter(cls, value):
        filters.validate_filter(value)
        return value

    def predicate(self, ctx: SegmentContext, alias: str) -> exp.Expr:
        return false_if_null(ctx.customer_matches(self.customer))


class DaysAgo(SpecModel):
    gte: float | None = None
    gt: float | None = None
    lte: float | None = None
    lt: float | None = None

    @model_validator(mode="after")
    def _some(self) -> DaysAgo:
        if all(getattr(self, op) is None for op in ("gte", "gt", "lte", "lt")):
            raise ValueError("give at least one of `gte`, `gt`, `lte`, `lt` (days)")
        return self


class SignedUpRange(SpecModel):
    days_ago: DaysAgo


class SegmentSignedUp(SegmentKind):
    """``{signed_up: {days_ago: {gte: 90, lte: 180}}}``: (as_of - signed_up_at) in exact days."""

    KEY: ClassVar[str] = "signed_up"

    signed_up: SignedUpRange

    def predicate(self, ctx: SegmentContext, alias: str) -> exp.Expr:
        signed = ctx.signed_up_at()
        ago = exp.Sub(this=number(as_of_us(ctx)), expression=exp.UnixMicros(this=signed))
        nodes = {"gte": exp.GTE, "gt": exp.GT, "lte": exp.LTE, "lt": exp.LT}
        parts = []
        for op, node in nodes.items():
            days = getattr(self.signed_up.days_ago, op)
            if days is not None:  # exact: a float's decimal text times the microseconds of a day
                parts.append(node(this=ago.copy(), expression=number(Decimal(repr(days)) * US_PER_DAY)))
        return false_if_null(exp.and_(*parts))


class SegmentAll(SegmentKind):
    KEY: ClassVar[str] = "all"
    CHILD_FIELDS: ClassVar[tuple[str, ...]] = ("all",)

    all: list["SegmentCondition"] = Field(min_length=1)  # noqa: F821

    def predicate(self, ctx: SegmentContext, alias: str) -> exp.Expr:
        return exp.and_(*[exp.Paren(this=c.predicate(ctx, child_alias(alias, i))) for i, c in enumerate(self.all)])


class SegmentAny(SegmentKind):
    KEY: ClassVar[str] = "any"
    CHILD_FIELDS: ClassVar[tuple[str, ...]] = ("any",)

    any: list["SegmentCondition"] = Field(min_length=1)  # noqa: F821

    def predicate(self, ctx: SegmentContext, alias: str) -> exp.Expr:
        return exp.or_(*[exp.Paren(this=c.predicate(ctx, child_alias(alias, i))) for i, c in enumerate(self.any)])


class SegmentNot(SegmentKind):
    KEY: ClassVar[str] = "not"
    CHILD_FIELDS: ClassVar[tuple[str, ...]] = ("not_",)

    not_: "SegmentCondition" = Field(alias="not")  # noqa: F821

    def predicate(self, ctx: SegmentContext, alias: str) -> exp.Expr:
        return exp.Not(this=exp.Paren(this=self.not_.predicate(ctx, child_alias(alias, 0))))
