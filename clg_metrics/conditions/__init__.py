"""Condition kinds: one module per kind, all listed once in ``REACHED_WHEN_KINDS`` (milestones'
``reached_when``, SPEC §2) or ``SEGMENT_KINDS`` (segments' ``when``, SPEC §4).

The loader (union tags, hints), the compiler (leaves, moments) and the checks (event names) walk
conditions through this registry and the methods of ``base.ConditionKind``, never through
``isinstance`` chains: a new kind is a new module here plus one entry below.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, Discriminator, Tag

from .base import (WITHIN_UNITS, ConditionKind, Modifiers, MomentContext, Window, Within, child_alias,
                   no_nested_modifiers,
                   walk)
from .boolean import AllCondition, AnyCondition
from .event import EventCondition, EventFilter
from .milestone import MilestoneCondition
from .segment import (STATUSES, SegmentAll, SegmentAny, SegmentContext, SegmentCustomer, SegmentEvent, SegmentKind,
                      SegmentMilestone, SegmentNot, SegmentSignedUp)

# The kinds of `reached_when`, in the order their keys are listed in messages.
REACHED_WHEN_KINDS: tuple[type[ConditionKind], ...] = (EventCondition, AllCondition, AnyCondition, MilestoneCondition)
SEGMENT_KINDS: tuple[type[ConditionKind], ...] = (SegmentEvent, SegmentMilestone, SegmentCustomer, SegmentSignedUp,
                                                  SegmentAll, SegmentAny, SegmentNot)


def kind_keys(kinds: tuple[type[ConditionKind], ...]) -> tuple[str, ...]:
    return tuple(k.KEY for k in kinds)


def kind_fields(kinds: tuple[type[ConditionKind], ...]) -> tuple[str, ...]:
    """Every key any of ``kinds`` accepts (for "did you mean" on a node matching no kind)."""
    return tuple(dict.fromkeys(f.alias or n for k in kinds for n, f in k.model_fields.items()))


def condition_union(kinds: tuple[type[ConditionKind], ...]) -> Any:
    """A pydantic discriminated union of ``kinds``, picked by which kind's key a mapping holds."""
    keys = kind_keys(kinds)

    def discriminate(value: Any) -> str | None:
        if isinstance(value, BaseModel):
            return getattr(type(value), "KEY", None)
        if isinstance(value, dict):
            present = [k for k in keys if k in value]
            return present[0] if len(present) == 1 else None
        return None

    listed = ", ".join(f"`{k}`" for k in keys[:-1]) + f", `{keys[-1]}`"
    return Annotated[
        Union[tuple(Annotated[k, Tag(k.KEY)] for k in kinds)],
        Discriminator(discriminate, custom_error_type="condition_kind",
                      custom_error_message=f"a condition needs exactly one of the keys {listed}"),
    ]


def kind_of(value: Any, kinds: tuple[type[ConditionKind], ...]) -> type[ConditionKind] | None:
    """The kind a YAML mapping (or a validated node) is meant to be, None when ambiguous."""
    if isinstance(value, ConditionKind):
        return type(value)
    if isinstance(value, dict):
        present = [k for k in kinds if k.KEY in value]
        return present[0] if len(present) == 1 else None
    return None


Condition = condition_union(REACHED_WHEN_KINDS)
SegmentCondition = condition_union(SEGMENT_KINDS)
for _kind in REACHED_WHEN_KINDS + SEGMENT_KINDS:
    _kind.model_rebuild(_types_namespace={"Condition": Condition, "SegmentCondition": SegmentCondition})

ALL_KINDS: tuple[type[ConditionKind], ...] = REACHED_WHEN_KINDS + SEGMENT_KINDS
CONDITION_KEYS = kind_keys(REACHED_WHEN_KINDS)
# Keys under which a condition (or a list of them) is written: union tags follow these in
# pydantic's error locations.
CONDITION_FIELDS = tuple(dict.fromkeys(("reached_when", "when") + tuple(
    k.model_fields[f].alias or f for k in ALL_KINDS for f in k.CHILD_FIELDS)))

__all__ = ["SEGMENT_KINDS", "STATUSES", "SegmentAll", "SegmentAny", "SegmentCondition", "SegmentContext",
           "SegmentCustomer", "SegmentEvent", "SegmentKind", "SegmentMilestone", "SegmentNot", "SegmentSignedUp",
           "ALL_KINDS", "AllCondition", "AnyCondition", "CONDITION_FIELDS", "CONDITION_KEYS", "Condition",
           "ConditionKind", "EventCondition", "EventFilter", "MilestoneCondition", "Modifiers", "MomentContext",
           "REACHED_WHEN_KINDS", "WITHIN_UNITS", "Window", "Within", "child_alias", "condition_union", "kind_fields",
           "kind_keys", "kind_of", "no_nested_modifiers", "walk"]
