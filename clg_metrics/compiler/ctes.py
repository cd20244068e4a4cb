"""The compiler's common table expressions: their reserved names and how queries refer to them."""

from __future__ import annotations

from sqlglot import exp

from .sqlfns import col

# The compiler's own relations carry a prefix that user relations may not (the loader reserves it),
# so that a seed or model named `ev` or `agg` is never shadowed by a CTE of the same name.
CTE_PREFIX = "__clg_"
INLINED_CTES = ("ev", "ev_new", "cust", "cust_all")


def cte_name(name: str) -> str:
    """The name a compiler CTE is defined under."""
    return f"{CTE_PREFIX}{name}"


def cte_table(name: str, alias: str | None = None) -> exp.Expr:
    """A reference to one of the compiler's CTEs, aliased by its short name (or ``alias``)."""
    return exp.alias_(exp.to_table(cte_name(name)), alias or name)


def cte_ids(name: str) -> exp.Select:
    """``SELECT customer_id FROM <cte>``, for ``IN (...)`` tests."""
    return exp.select(col("customer_id")).from_(cte_table(name), copy=False)
