"""What every condition kind provides, so that the loader, the compiler and the checks can walk a
condition tree without knowing which kinds exist.

A kind is a frozen pydantic model (its YAML shape) that also says, in one place:

- ``KEY``: the key that identifies it in YAML (the discriminated union's tag);
- ``CHILD_FIELDS``: the fields holding nested conditions (walked by ``walk``);
- ``event_names`` / ``milestone_refs``: what it reads (for checks and dependency order);
- how it compiles: ``moment`` for ``reached_when`` (the moment from which it holds, SPEC §2).

Leaves that count events (``READS_EVENTS``) get one aggregate column each in the journey's single
pass over the events; their alias is their path in the tree (``l3_0_1``), see ``child_alias``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Iterator, Protocol

from pydantic import Field, StrictInt, model_validator

from ..spec_base import Grain, Identifier, SpecModel

if TYPE_CHECKING:
    from sqlglot import exp

WITHIN_UNITS = ("days", "hours", "minutes", "seconds")


class MomentContext(Protocol):
    """What a kind's ``moment`` may ask of the compiler."""

    def leaf(self, alias: str) -> exp.Expr:
        """The moment an event leaf holds from (its n-th matching event), by the leaf's alias."""

    def reached_at(self, milestone: str) -> exp.Expr:
        """A milestone's ``reached_at`` (the column of an earlier stage)."""


class ConditionKind(SpecModel):
    """Base of every condition kind (see the module docstring)."""

    KEY: ClassVar[str]
    CHILD_FIELDS: ClassVar[tuple[str, ...]] = ()
    READS_EVENTS: ClassVar[bool] = False

    def children(self) -> list[tuple[tuple, ConditionKind]]:
        """(location below this node, child) for every nested condition, in order."""
        out: list[tuple[tuple, ConditionKind]] = []
        for name in self.CHILD_FIELDS:
            value = getattr(self, name)
            key = type(self).model_fields[name].alias or name  # as written in YAML (`not`, not `not_`)
            if isinstance(value, list):
                out += [((key, i), child) for i, child in enumerate(value)]
            elif value is not None:
                out.append(((key,), value))
        return out

    @property
    def event_names(self) -> tuple[str, ...]:
        """The event names this node itself reads (not its children's)."""
        return ()

    @property
    def milestone_refs(self) -> tuple[str, ...]:
        """The milestones this node itself refers to."""
        return ()

    def moment(self, ctx: MomentContext, alias: str) -> exp.Expr:
        """The moment from which this condition holds, as an expression over the compiler's columns."""
        raise NotImplementedError(f"`{self.KEY}` is not a `reached_when` condition")


def child_alias(alias: str, position: int) -> str:
    """The alias of a node's ``position``-th child: leaves are named by their path in the tree."""
    return f"{alias}_{position}"


def walk(node: ConditionKind, alias: str = "", loc: tuple = ()) -> Iterator[tuple[ConditionKind, str, tuple]]:
    """(node, alias, location) for a condition tree, parents first."""
    yield node, alias, loc
    for position, (below, child) in enumerate(node.children()):
        yield from walk(child, child_alias(alias, position), loc + below)


class Window(SpecModel):
    """``{days|hours|minutes|seconds: D}``: a length of time in one unit."""

    days: StrictInt | None = Field(default=None, ge=0)
    hours: StrictInt | None = Field(default=None, ge=0)
    minutes: StrictInt | None = Field(default=None, ge=0)
    seconds: StrictInt | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_unit(self):
        given = [u for u in WITHIN_UNITS if getattr(self, u) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of `days`, `hours`, `minutes`, `seconds`")
        if self.microseconds > MAX_WINDOW_US:  # anchor + D must stay a timestamp on every engine
            raise ValueError(f"`{self.unit}: {self.amount}` is longer than 100 years (36500 days), beyond the "
                             "engines' timestamp range: give a shorter window")
        return self

    @property
    def unit(self) -> str:
        return next(u for u in WITHIN_UNITS if getattr(self, u) is not None)

    @property
    def amount(self) -> int:
        return getattr(self, self.unit)

    @property
    def microseconds(self) -> int:
        return self.amount * _US_PER_UNIT[self.unit]


MAX_WINDOW_US = 36_500 * 86_400_000_000
_US_PER_UNIT = {"days": 86_400_000_000, "hours": 3_600_000_000, "minutes": 60_000_000, "seconds": 1_000_000}


class Within(Window):
    """``within: {days: D, of: signup | previous | MILESTONE}``: a deadline after an anchor."""

    of: Identifier


class Modifiers(SpecModel):
    """``per``, ``streak`` and ``within``: allowed at the top of ``reached_when`` only."""

    per: Grain | None = None
    streak: StrictInt | None = Field(default=None, ge=1, le=1000)
    within: Within | None = None

    @property
    def has_modifiers(self) -> bool:
        return self.per is not None or self.streak is not None or self.within is not None


def no_nested_modifiers(children: list) -> list:
    """Refuse ``per``/``streak``/``within`` below the top of a condition."""
    for child in children:
        if getattr(child, "has_modifiers", False):
            raise ValueError(
                "`per`, `streak` and `within` are allowed only at the top of `reached_when` or on the milestone"
            )
    return children
