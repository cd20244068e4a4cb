"""The building blocks every YAML-facing model shares: a frozen, strict pydantic base and the
constrained string types (identifiers, relation names, free text).

They live apart from ``spec.py`` so that the condition kinds (``conditions/``), the project
settings and the profiles can use them without importing the journey models.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]*$"
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN, max_length=63)]
# a seed, a sql model, or schema.table / catalog.schema.table in the warehouse
RELATION_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$"
Relation = Annotated[str, StringConstraints(pattern=RELATION_PATTERN, max_length=200)]
ColumnName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
EventName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=2000)]
Grain = Literal["day", "week", "month"]


class SpecModel(BaseModel):
    """Mirrors the YAML one to one: an unknown key is an error (``extra="forbid"``), never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_Model = SpecModel  # the name the rest of the package has long used
