"""The journey language of SPEC section 2 as frozen pydantic models.

Models mirror the YAML one to one (``extra="forbid"``: an unknown key is an error, never
silently ignored). Checks that need the whole journey or project (unknown milestone, cycles,
sources) live in ``loader.py``; this module checks the shape of one document.
"""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictInt,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)

from . import filters
from .checks.catalog import CheckDecl

IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]*$"
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN, max_length=63)]
# a seed, a sql model, or schema.table / catalog.schema.table in the warehouse
RELATION_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$"
Relation = Annotated[str, StringConstraints(pattern=RELATION_PATTERN, max_length=200)]
ColumnName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=2000)]

Grain = Literal["day", "week", "month"]
Order = Literal["sequential", "independent"]
WITHIN_UNITS = ("days", "hours", "minutes", "seconds")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Within(_Model):
    """``within: {days: D, of: signup | previous | MILESTONE}``: a deadline after an anchor."""

    days: StrictInt | None = Field(default=None, ge=0)
    hours: StrictInt | None = Field(default=None, ge=0)
    minutes: StrictInt | None = Field(default=None, ge=0)
    seconds: StrictInt | None = Field(default=None, ge=0)
    of: Identifier

    @model_validator(mode="after")
    def _one_unit(self) -> Within:
        given = [u for u in WITHIN_UNITS if getattr(self, u) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of `days`, `hours`, `minutes`, `seconds`")
        return self

    @property
    def unit(self) -> str:
        return next(u for u in WITHIN_UNITS if getattr(self, u) is not None)

    @property
    def amount(self) -> int:
        return getattr(self, self.unit)


class _Modifiers(_Model):
    """``per``, ``streak`` and ``within``: allowed at the top of ``reached_when`` only."""

    per: Grain | None = None
    streak: StrictInt | None = Field(default=None, ge=1, le=1000)
    within: Within | None = None

    @property
    def has_modifiers(self) -> bool:
        return self.per is not None or self.streak is not None or self.within is not None


class EventCondition(_Modifiers):
    """``{event: NAME | [NAME...], at_least: N, where: FILTER, distinct: COLUMN}``."""

    event: Annotated[str, StringConstraints(min_length=1, max_length=200)] | list[
        Annotated[str, StringConstraints(min_length=1, max_length=200)]
    ]
    at_least: StrictInt = Field(default=1, ge=1, le=10_000)
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


class AllCondition(_Modifiers):
    """``all: [conditions]``: holds where every child holds."""

    all: list[Condition] = Field(min_length=1)

    @field_validator("all")
    @classmethod
    def _children(cls, value):
        return _no_nested_modifiers(value)


class AnyCondition(_Modifiers):
    """``any: [conditions]``: holds where some child holds."""

    any: list[Condition] = Field(min_length=1)

    @field_validator("any")
    @classmethod
    def _children(cls, value):
        return _no_nested_modifiers(value)


class MilestoneCondition(_Modifiers):
    """``{milestone: NAME}``: holds from that milestone's ``reached_at`` on."""

    milestone: Identifier


def _no_nested_modifiers(children):
    for child in children:
        if child.has_modifiers:
            raise ValueError(
                "`per`, `streak` and `within` are allowed only at the top of `reached_when` or on the milestone"
            )
    return children


CONDITION_KEYS = ("event", "all", "any", "milestone")


def _condition_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return next(k for k in CONDITION_KEYS if k in type(value).model_fields)
    if isinstance(value, dict):
        present = [k for k in CONDITION_KEYS if k in value]
        return present[0] if len(present) == 1 else None
    return None


Condition = Annotated[
    Union[
        Annotated[EventCondition, Tag("event")],
        Annotated[AllCondition, Tag("all")],
        Annotated[AnyCondition, Tag("any")],
        Annotated[MilestoneCondition, Tag("milestone")],
    ],
    Discriminator(
        _condition_kind,
        custom_error_type="condition_kind",
        custom_error_message="a condition needs exactly one of the keys `event`, `all`, `any`, `milestone`",
    ),
]
AllCondition.model_rebuild()
AnyCondition.model_rebuild()


class Milestone(_Model):
    """One milestone: a KPI that shows the customer got value, and when it counts as reached."""

    milestone: Identifier
    kpi: Text | None = None
    description: Text | None = None
    reached_when: Condition
    per: Grain | None = None
    streak: StrictInt | None = Field(default=None, ge=1, le=1000)
    within: Within | None = None

    @model_validator(mode="after")
    def _modifiers_once(self) -> Milestone:
        for name in ("per", "streak", "within"):
            if getattr(self, name) is not None and getattr(self.reached_when, name) is not None:
                raise ValueError(f"`{name}` is given both on the milestone and in `reached_when`: keep one")
        if self.effective_streak is not None and self.effective_per is None and self.effective_streak != 1:
            raise ValueError("`streak` needs `per: day | week | month`")
        return self

    @property
    def effective_per(self) -> Grain | None:
        return self.per or self.reached_when.per

    @property
    def effective_streak(self) -> int | None:
        return self.streak or self.reached_when.streak

    @property
    def effective_within(self) -> Within | None:
        return self.within or self.reached_when.within


class Phase(_Model):
    phase: Identifier
    description: Text | None = None
    milestones: list[Milestone] = Field(default_factory=list)


class Job(_Model):
    """The Job to be Done: "When I…, help me…, so I can…" (free text, shown in docs)."""

    when: Text | None = None
    help_me: Text | None = None
    so_i_can: Text | None = None


class EventColumns(_Model):
    customer_id: ColumnName = "customer_id"
    event_name: ColumnName = "event_name"
    occurred_at: ColumnName = "occurred_at"


class CustomerColumns(_Model):
    customer_id: ColumnName = "customer_id"
    signed_up_at: ColumnName = "signed_up_at"


class EventsSource(_Model):
    from_: Relation = Field(alias="from")
    columns: EventColumns = EventColumns()
    checks: list[CheckDecl] = Field(default_factory=list)


class CustomersSource(_Model):
    from_: Relation = Field(alias="from")
    columns: CustomerColumns = CustomerColumns()
    checks: list[CheckDecl] = Field(default_factory=list)


class Journey(_Model):
    """One journey file: a customer job, its sources and its milestones, phase by phase."""

    journey: Identifier
    description: Text | None = None
    job: Job | None = None
    events: EventsSource
    customers: CustomersSource | None = None
    order: Order = "sequential"
    phases: list[Phase] = Field(default_factory=list)

    @property
    def milestones(self) -> list[tuple[Phase, Milestone]]:
        """Every milestone with its phase, in journey order (phase by phase, top to bottom)."""
        return [(phase, m) for phase in self.phases for m in phase.milestones]


def keys_at(model: type[BaseModel], path: tuple, data: Any) -> list[str]:
    """The keys allowed in the mapping at ``path`` of ``data`` validated as ``model``.

    Used for "did you mean" hints: an unknown key is compared with the keys valid at its place,
    not with every key of the language.
    """
    annotation: Any = model
    node = data
    for part in path:
        annotation = _concrete(annotation, node)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = next((f for n, f in annotation.model_fields.items() if (f.alias or n) == part), None)
            if field is None:
                return []
            annotation = field.annotation
        elif get_origin(annotation) in (list, dict):
            annotation = get_args(annotation)[-1]
        else:
            return []
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    annotation = _concrete(annotation, node)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f.alias or n for n, f in annotation.model_fields.items()]
    return []


def _concrete(annotation: Any, node: Any) -> Any:
    """Unwrap Annotated and pick the union member that ``node`` is meant to be."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, UnionType):
        members = [_concrete(a, node) for a in get_args(annotation)]
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        kind = _condition_kind(node)
        for m in models:
            if kind is not None and kind in m.model_fields:
                return m
        if isinstance(node, list):
            return next((m for m in members if get_origin(m) is list), members[0])
        if isinstance(node, dict) and models:
            return models[0]
        return members[0]
    return annotation
