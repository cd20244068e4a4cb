"""The ``survey:`` source of SPEC §5 as the two output tables read it: coded themes per respondent.

A survey row is one response; a customer may have several (an interview and a questionnaire, a
second wave), and any of its three themes may be NULL (an answer nobody could code). Both tables
count *respondents*, not rows, so everything starts from distinct (customer, theme) pairs of one
kind: a respondent with the same theme in three rows counts once, and a theme found in any of a
respondent's rows counts for that respondent.

Customer ids are compared as text: the survey often comes from a different system than the
events (a CSV export whose ids are strings), and ``'1001'`` and ``1001`` are the same customer.
"""

from __future__ import annotations

from sqlglot import exp

from ...dialects import ByteOrder
from ...spec import Journey
from ..events import relation_table
from ..sqlfns import col, is_not_null
from .common import T

KINDS = ("struggle", "motivation", "outcome")


def survey_reads(journey: Journey) -> tuple[str, ...]:
    """The relation a journey's survey is read from (for the DAG), none without a survey."""
    return (journey.survey.from_.lower(),) if journey.survey is not None else ()


def missing_columns(journey: Journey, columns: list[str] | None) -> list[tuple[str, str]]:
    """(key, column) of each mapped survey column the relation lacks (none when its columns are unknown)."""
    if journey.survey is None or columns is None:
        return []
    mapping = journey.survey.columns
    return [(key, getattr(mapping, key)) for key in ("customer_id", *KINDS) if getattr(mapping, key) not in columns]


def customer_key(value: exp.Expr) -> exp.Expr:
    """A customer id as text, the type survey and journey ids are compared in."""
    return exp.cast(value, T.VARCHAR)


def answers(journey: Journey, kind: str) -> exp.Select:
    """Distinct (customer_id, theme) of one kind: rows without a customer or a theme left out."""
    mapping = journey.survey.columns
    customer, theme = col(mapping.customer_id), col(getattr(mapping, kind))
    return (exp.select(exp.alias_(customer_key(customer), "customer_id", quoted=True),
                       exp.alias_(exp.cast(theme, T.VARCHAR), "theme", quoted=True))
            .distinct()
            .from_(relation_table(journey.survey.from_), copy=False)
            .where(exp.and_(is_not_null(customer), is_not_null(theme)), copy=False))


def respondents(journey: Journey) -> exp.Select:
    """``total``: the journey's respondents (distinct customers with at least one survey row)."""
    customer = col(journey.survey.columns.customer_id)
    distinct = exp.Count(this=exp.Distinct(expressions=[customer_key(customer)]))
    return (exp.select(exp.alias_(distinct, "total", quoted=True))
            .from_(relation_table(journey.survey.from_), copy=False)
            .where(is_not_null(customer), copy=False))


def by_theme(theme: exp.Expr) -> exp.Expr:
    """``theme`` as an ORDER BY key that every engine sorts alike (by bytes, not by collation)."""
    return ByteOrder(this=theme)
