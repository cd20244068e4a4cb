"""``{milestone: NAME}``: holds from that milestone's ``reached_at`` on (no cycles, SPEC §2)."""

from __future__ import annotations

from typing import ClassVar

from sqlglot import exp

from ..spec_base import Identifier
from .base import ConditionKind, Modifiers, MomentContext


class MilestoneCondition(Modifiers, ConditionKind):
    """``{milestone: NAME}``: another milestone of the same journey has been reached."""

    KEY: ClassVar[str] = "milestone"

    milestone: Identifier

    @property
    def milestone_refs(self) -> tuple[str, ...]:
        return (self.milestone,)

    def moment(self, ctx: MomentContext, alias: str) -> exp.Expr:
        return ctx.reached_at(self.milestone)
