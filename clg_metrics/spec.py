"""The journey language of SPEC section 2 as frozen pydantic models.

Models mirror the YAML one to one (``extra="forbid"``: an unknown key is an error, never
silently ignored). The condition kinds live in ``conditions/`` (one module each); this module
holds the journey around them, and the milestone dependencies that both validation (cycles) and
the compiler (evaluation order) need. Checks that need the whole project (unknown sources) live
in ``validation.py``.
"""

from __future__ import annotations

import graphlib
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Field, StrictInt, StringConstraints, model_validator

from .checks.catalog import CheckDecl
from .conditions import (CONDITION_KEYS, AllCondition, AnyCondition, Condition, EventCondition,  # noqa: F401
                         MilestoneCondition, SegmentCondition, Window, Within, kind_of, walk)
from .conditions import ALL_KINDS as _ALL_KINDS
from .conditions.base import WITHIN_UNITS  # noqa: F401
from .spec_base import (IDENTIFIER_PATTERN, RELATION_PATTERN, ColumnName, Grain, Identifier,  # noqa: F401
                        Relation, Text, _Model)

Order = Literal["sequential", "independent"]


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


TimestampFormat = Annotated[str, StringConstraints(min_length=2, max_length=100, pattern=r"%")]


class EventColumns(_Model):
    """The events source's column for each column the SPEC names; ``timestamp_format`` (strftime
    codes) parses an ``occurred_at`` held as text in another layout than ISO."""

    customer_id: ColumnName = "customer_id"
    event_name: ColumnName = "event_name"
    occurred_at: ColumnName = "occurred_at"
    event_id: ColumnName = "event_id"
    properties: ColumnName = "properties"
    timestamp_format: TimestampFormat | None = None


class CustomerColumns(_Model):
    customer_id: ColumnName = "customer_id"
    signed_up_at: ColumnName = "signed_up_at"
    timestamp_format: TimestampFormat | None = None  # of signed_up_at, as for events


class EventsSource(_Model):
    from_: Relation = Field(alias="from")
    columns: EventColumns = EventColumns()
    checks: list[CheckDecl] = Field(default_factory=list)


class CustomersSource(_Model):
    from_: Relation = Field(alias="from")
    columns: CustomerColumns = CustomerColumns()
    checks: list[CheckDecl] = Field(default_factory=list)


class Segment(_Model):
    """A named group of customers, as of the build's ``as_of`` (SPEC §4)."""

    segment: Identifier
    description: Text | None = None
    when: SegmentCondition


class Cohorts(_Model):
    """``cohorts: {per: week | month, within: {days: 30}}``: signup cohorts and their window."""

    per: Literal["week", "month"] = "month"
    within: Window = Window(days=30)


class WinBack(_Model):
    inactive_days: float = Field(default=14, ge=0, le=36_500)


class Analysis(_Model):
    """``analysis:`` settings of the CLG tables (SPEC §4, §5); every key optional."""

    benchmark: Identifier | None = None  # default: the first segment
    cohorts: Cohorts = Cohorts()
    trend: Grain = "week"
    win_back: WinBack = WinBack()
    value_milestone: Identifier | None = None  # SPEC §5; default: the journey's last milestone


class Journey(_Model):
    """One journey file: a customer job, its sources and its milestones, phase by phase."""

    journey: Identifier
    description: Text | None = None
    job: Job | None = None
    events: EventsSource
    customers: CustomersSource | None = None
    order: Order = "sequential"
    phases: list[Phase] = Field(default_factory=list)
    segments: list[Segment] = Field(default_factory=list)
    analysis: Analysis = Analysis()

    @property
    def benchmark(self) -> str | None:
        """The segment success gaps compare with: ``analysis.benchmark``, else the first segment."""
        if self.analysis.benchmark is not None:
            return self.analysis.benchmark
        return self.segments[0].segment if self.segments else None

    @property
    def milestones(self) -> list[tuple[Phase, Milestone]]:
        """Every milestone with its phase, in journey order (phase by phase, top to bottom)."""
        return [(phase, m) for phase in self.phases for m in phase.milestones]

    def dependencies(self) -> dict[str, set[str]]:
        """For each milestone, the milestones whose ``reached_at`` it needs first: its references,
        its ``within`` anchor, and under ``sequential`` the previous milestone.

        Names that are not milestones of the journey are left out (validation reports them).
        """
        names = [m.milestone for _, m in self.milestones]
        known = set(names)
        deps: dict[str, set[str]] = {}
        for i, (_, milestone) in enumerate(self.milestones):
            needed = {ref for node, _, _ in walk(milestone.reached_when) for ref in node.milestone_refs}
            within = milestone.effective_within
            if within is not None and within.of == "previous" and i > 0:
                needed.add(names[i - 1])
            elif within is not None and within.of not in ("signup", "previous", milestone.milestone):
                needed.add(within.of)
            if self.order == "sequential" and i > 0:
                needed.add(names[i - 1])
            deps.setdefault(milestone.milestone, set()).update(needed & known)
        return deps

    def evaluation_order(self) -> list[str]:
        """Milestones in an order where every reference and anchor comes first (journey order if
        possible). Call only on a validated journey: a cycle raises ``graphlib.CycleError``."""
        position = {m.milestone: i for i, (_, m) in enumerate(self.milestones)}
        sorter = graphlib.TopologicalSorter(self.dependencies())
        sorter.prepare()
        out: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=position.get)
            out.extend(ready)
            sorter.done(*ready)
        return out


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
        kind = kind_of(node, tuple(m for m in models if m in _ALL_KINDS))
        if kind is not None:
            return kind
        if isinstance(node, list):
            return next((m for m in members if get_origin(m) is list), members[0])
        if isinstance(node, dict) and models:
            return models[0]
        return members[0]
    return annotation
