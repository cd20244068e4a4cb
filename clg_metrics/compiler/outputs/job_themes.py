"""``job_themes`` (SPEC §5): one row per journey × kind × theme of the survey's coded answers.

For each theme: how many respondents gave it, their share of all respondents, how many of them
belong to the benchmark segment (the "best customers" the job is read from), and of those who
are customers of the journey, the share who reached the value milestone — a theme common among
respondents who never got value is a job the product does not yet serve.
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from ...filters import literal
from ..journey import reached_column
from ..sqlfns import col, percent
from .common import T, empty, text, union_all
from .survey import KINDS, answers, customer_key, respondents, survey_reads
from .table import BuiltJourney, OutputTable

COLUMNS = (("journey", T.VARCHAR), ("kind", T.VARCHAR), ("theme", T.VARCHAR), ("respondents", T.BIGINT),
           ("pct_of_respondents", T.DOUBLE), ("benchmark_respondents", T.BIGINT), ("reached_value_pct", T.DOUBLE))
SEGMENT_MEMBERS = "segment_members"


def benchmark_members(journey: str, segment: str) -> exp.Select:
    """The benchmark segment's members (customer ids as text), from ``segment_members``."""
    where = exp.and_(exp.EQ(this=col("journey"), expression=literal(journey)),
                     exp.EQ(this=col("segment"), expression=literal(segment)))
    return (exp.select(exp.alias_(customer_key(col("customer_id")), "customer_id", quoted=True)).distinct()
            .from_(SEGMENT_MEMBERS, copy=False).where(where, copy=False))


def build(journeys: list[BuiltJourney], as_of: datetime) -> exp.Query:
    """Per journey with a survey: themes of every kind with their respondents, benchmark members
    and value reached; UNION ALL over journeys."""
    selects = []
    for journey, table, *_ in journeys:
        if journey.survey is None:
            continue
        kinds = [exp.select(exp.alias_(exp.Literal.string(kind), "kind", quoted=True), col("theme"), col("customer_id"))
                 .from_(answers(journey, kind).subquery("x"), copy=False) for kind in KINDS]
        themes = union_all(kinds, kinds[0]).subquery("a")
        responders = col("customer_id", "a")
        respondents_n = exp.Count(this=exp.Star())
        benchmark = journey.benchmark if journey.segments else None
        value = journey.value_milestone_index
        reached = (percent(exp.Count(this=col(reached_column(value), "p")), exp.Count(this=col("customer_id", "p")))
                   if value is not None else exp.cast(exp.null(), T.DOUBLE))
        select = (exp.select(
            exp.alias_(text(journey.journey), "journey", quoted=True),
            exp.alias_(exp.cast(col("kind", "a"), T.VARCHAR), "kind", quoted=True), col("theme", "a"),
            exp.alias_(exp.cast(respondents_n, T.BIGINT), "respondents", quoted=True),
            exp.alias_(percent(respondents_n.copy(), col("total", "n")), "pct_of_respondents", quoted=True),
            exp.alias_(exp.cast(exp.Count(this=col("customer_id", "b")) if benchmark else exp.null(), T.BIGINT),
                       "benchmark_respondents", quoted=True),
            exp.alias_(reached, "reached_value_pct", quoted=True))
            .from_(themes, copy=False)
            .join(respondents(journey).subquery("n"), join_type="CROSS", copy=False)
            .join(exp.alias_(exp.to_table(table), "p"), join_type="LEFT", copy=False,
                  on=exp.EQ(this=customer_key(col("customer_id", "p")), expression=responders.copy())))
        if benchmark:
            select = select.join(benchmark_members(journey.journey, benchmark).subquery("b"), join_type="LEFT",
                                 on=exp.EQ(this=col("customer_id", "b"), expression=responders.copy()), copy=False)
        selects.append(select.group_by(col("kind", "a"), col("theme", "a"), col("total", "n"), copy=False))
    return union_all(selects, empty(COLUMNS))


TABLE = OutputTable("job_themes", COLUMNS, build, order_by=("journey", "kind", "theme"), reads=(SEGMENT_MEMBERS,),
                    journey_reads=survey_reads)
