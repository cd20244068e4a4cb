"""``job_statements`` (SPEC §5): one Job-to-be-Done statement per journey × struggle theme.

A struggle's statement pairs it with the motivation and the outcome most common among the
respondents who named that struggle (in any of their responses): "When I {struggle}, help me
{motivation}, so I can {outcome}". Each respondent counts once per theme, whichever row the
theme came from, so a customer interviewed twice does not outweigh one asked once. Rank 1 is the
job most respondents share — the one a CLG team writes at the top of its journey file.
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from ..sqlfns import col
from .common import T, empty, text, union_all
from .survey import answers, by_theme, survey_reads
from .table import BuiltJourney, OutputTable

COLUMNS = (("journey", T.VARCHAR), ("rank", T.INT), ("struggle", T.VARCHAR), ("respondents", T.BIGINT),
           ("motivation", T.VARCHAR), ("motivation_respondents", T.BIGINT), ("outcome", T.VARCHAR),
           ("outcome_respondents", T.BIGINT), ("statement", T.VARCHAR))
MISSING = "…"  # how a statement writes a part no respondent gave


def _descending(e: exp.Expr) -> exp.Ordered:
    return exp.Ordered(this=e, desc=True)


def most_common(journey, kind: str) -> exp.Select:
    """Per struggle theme, the ``kind`` theme most respondents with that struggle gave (ties by
    theme ascending): columns struggle, theme, n."""
    pairs = (exp.select(exp.alias_(col("theme", "s"), "struggle", quoted=True), col("theme", "k"),
                        exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True))
             .from_(answers(journey, "struggle").subquery("s"), copy=False)
             .join(answers(journey, kind).subquery("k"), on=exp.EQ(this=col("customer_id", "s"),
                                                                   expression=col("customer_id", "k")), copy=False)
             .group_by(col("theme", "s"), col("theme", "k"), copy=False))
    order = exp.Window(this=exp.RowNumber(), partition_by=[col("struggle")],
                       order=exp.Order(expressions=[_descending(col("n")), exp.Ordered(this=by_theme(col("theme")))]))
    ranked = exp.select(col("struggle"), col("theme"), col("n"), exp.alias_(order, "pick", quoted=True)).from_(
        pairs.subquery("c"), copy=False)
    return (exp.select(col("struggle"), col("theme"), col("n")).from_(ranked.subquery("r"), copy=False)
            .where(exp.EQ(this=col("pick"), expression=exp.Literal.number(1)), copy=False))


def statement(struggle: exp.Expr, motivation: exp.Expr, outcome: exp.Expr) -> exp.Expr:
    """"When I {struggle}, help me {motivation}, so I can {outcome}", a NULL part written "…"."""
    def part(e: exp.Expr) -> exp.Expr:
        return exp.Coalesce(this=e, expressions=[exp.Literal.string(MISSING)])

    return exp.Concat(expressions=[exp.Literal.string("When I "), part(struggle), exp.Literal.string(", help me "),
                                   part(motivation), exp.Literal.string(", so I can "), part(outcome)])


def build(journeys: list[BuiltJourney], as_of: datetime) -> exp.Query:
    """Per journey with a survey: its struggle themes ranked by respondents, each with its most
    common motivation and outcome and the statement they make; UNION ALL over journeys."""
    selects = []
    for journey, *_ in journeys:
        if journey.survey is None:
            continue
        struggles = (exp.select(exp.alias_(col("theme"), "struggle", quoted=True),
                                exp.alias_(exp.Count(this=exp.Star()), "respondents", quoted=True))
                     .from_(answers(journey, "struggle").subquery("s"), copy=False).group_by(col("theme"), copy=False))
        rank = exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=[
            _descending(col("respondents", "t")), exp.Ordered(this=by_theme(col("struggle", "t")))]))
        motivation, outcome = col("theme", "m"), col("theme", "o")
        select = (exp.select(
            exp.alias_(text(journey.journey), "journey", quoted=True),
            exp.alias_(exp.cast(rank, T.INT), "rank", quoted=True),
            col("struggle", "t"),
            exp.alias_(exp.cast(col("respondents", "t"), T.BIGINT), "respondents", quoted=True),
            exp.alias_(motivation, "motivation", quoted=True),
            exp.alias_(exp.cast(col("n", "m"), T.BIGINT), "motivation_respondents", quoted=True),
            exp.alias_(outcome, "outcome", quoted=True),
            exp.alias_(exp.cast(col("n", "o"), T.BIGINT), "outcome_respondents", quoted=True),
            exp.alias_(statement(col("struggle", "t"), motivation.copy(), outcome.copy()), "statement", quoted=True))
            .from_(struggles.subquery("t"), copy=False))
        for alias, kind in (("m", "motivation"), ("o", "outcome")):
            select = select.join(most_common(journey, kind).subquery(alias), join_type="LEFT", copy=False,
                                 on=exp.EQ(this=col("struggle", alias), expression=col("struggle", "t")))
        selects.append(select)
    return union_all(selects, empty(COLUMNS))


TABLE = OutputTable("job_statements", COLUMNS, build, order_by=("journey", "rank"), journey_reads=survey_reads)
