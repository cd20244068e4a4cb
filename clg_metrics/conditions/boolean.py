"""``all: [conditions]`` and ``any: [conditions]``: and / or of their children.

In ``reached_when`` a condition holds from a moment on, so ``all`` holds from the latest child's
moment and ``any`` from the earliest (SPEC §2).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator
from sqlglot import exp

from .base import ConditionKind, Modifiers, MomentContext, child_alias, no_nested_modifiers


class AllCondition(Modifiers, ConditionKind):
    """``all: [conditions]``: holds where every child holds."""

    KEY: ClassVar[str] = "all"
    CHILD_FIELDS: ClassVar[tuple[str, ...]] = ("all",)

    all: list["Condition"] = Field(min_length=1)  # noqa: F821 - the union of conditions/__init__.py

    @field_validator("all")
    @classmethod
    def _children(cls, value):
        return no_nested_modifiers(value)

    def moment(self, ctx: MomentContext, alias: str) -> exp.Expr:
        from ..compiler.sqlfns import all_of  # the compiler package imports the spec

        return all_of([c.moment(ctx, child_alias(alias, i)) for i, c in enumerate(self.all)])


class AnyCondition(Modifiers, ConditionKind):
    """``any: [conditions]``: holds where some child holds."""

    KEY: ClassVar[str] = "any"
    CHILD_FIELDS: ClassVar[tuple[str, ...]] = ("any",)

    any: list["Condition"] = Field(min_length=1)  # noqa: F821

    @field_validator("any")
    @classmethod
    def _children(cls, value):
        return no_nested_modifiers(value)

    def moment(self, ctx: MomentContext, alias: str) -> exp.Expr:
        from ..compiler.sqlfns import any_of

        return any_of([c.moment(ctx, child_alias(alias, i)) for i, c in enumerate(self.any)])
