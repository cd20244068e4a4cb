"""The compiler's own relation names never collide with a user's (issue: a seed named `ev` failed
with "Circular reference to CTE"): every journey below reads seeds named after the compiler's
internal CTE and alias names, and gives the same outputs as one over plainly named seeds."""

from __future__ import annotations

from datetime import datetime

import duckdb
import yaml
from sqlglot import exp

from clg_metrics.compiler import EventSource, JourneyCompiler
from clg_metrics.compiler.journey import CTE_PREFIX
from clg_metrics.spec import Journey
from conftest import cli

EVENTS = """customer_id,event_name,occurred_at,format
1,signup,2024-01-01 10:00:00,csv
1,search,2024-01-02 10:00:00,csv
1,search,2024-01-03 10:00:00,xlsx
1,export,2024-01-08 10:00:00,csv
1,export,2024-01-15 10:00:00,pdf
2,signup,2024-01-05 10:00:00,csv
2,search,2024-01-20 10:00:00,pdf
3,search,2024-01-06 10:00:00,csv
"""
CUSTOMERS = """customer_id,signed_up_at
1,2024-01-01 09:00:00
2,2024-01-04 09:00:00
3,
"""


def journey_doc(name: str, events: str, customers: str) -> dict:
    """A journey that uses every stage the compiler has: customers, distinct, per + streak, within."""
    return {
        "journey": name, "events": {"from": events}, "customers": {"from": customers},
        "phases": [{"phase": "p", "milestones": [
            {"milestone": "signed_up", "reached_when": {"event": "signup"}},
            {"milestone": "searched", "reached_when": {"event": "search", "at_least": 2, "distinct": "format"}},
            {"milestone": "weekly", "reached_when": {"per": "week", "streak": 2, "event": "export"}},
            {"milestone": "fast", "reached_when": {"milestone": "weekly"}, "within": {"days": 30, "of": "signup"}},
        ]}],
    }


def internal_names() -> list[str]:
    """Every CTE name the compiled query of ``journey_doc`` uses, without the reserved prefix (the
    names a user relation could shadow; aliases are scoped to their query and cannot collide)."""
    spec = Journey.model_validate(journey_doc("j", "events", "customers"))
    source = EventSource("events", spec.events.columns, ["customer_id", "event_name", "occurred_at", "format"])
    tree = JourneyCompiler(spec, source, datetime(2024, 3, 1)).compile()
    names = {cte.alias.removeprefix(CTE_PREFIX) for cte in tree.find_all(exp.CTE)}
    return sorted(n for n in names if n and not n.startswith("_"))


def test_seeds_named_like_internal_names_build(tmp_path):
    names = internal_names()
    assert {"ev", "agg", "cust", "s0"} <= set(names), names
    root = tmp_path / "proj"
    (root / "milestones").mkdir(parents=True)
    (root / "seeds").mkdir()
    (root / "clg_project.yml").write_text('vars: {as_of: "2024-03-01"}\n')
    # each name is a customers source (the `cust*` ones and every other one) or an events source
    customers = [n for n in names if n.startswith("cust")]
    customers += [n for n in names if n not in customers][::2]
    events = [n for n in names if n not in customers]
    for seed in ["plain_events", *events]:
        (root / "seeds" / f"{seed}.csv").write_text(EVENTS)
    for seed in ["plain_customers", *customers]:
        (root / "seeds" / f"{seed}.csv").write_text(CUSTOMERS)
    docs = [journey_doc("control", "plain_events", "plain_customers")]
    # every name once, as an events or a customers source, as few journeys as that takes
    docs += [journey_doc(f"j_{i}", events[i % len(events)], customers[i % len(customers)])
             for i in range(max(len(events), len(customers)))]
    for doc in docs:
        (root / "milestones" / f"{doc['journey']}.yml").write_text(yaml.safe_dump(doc, sort_keys=False))

    for attempt in ("first build", "second build (incremental)"):
        code, output = cli("build", "--skip-checks", project_dir=root)  # checks name no CTE
        assert code == 0, f"{attempt}:\n{output}"
        con = duckdb.connect(str(root / "target" / "clg.duckdb"), read_only=True)
        try:
            rows = con.execute("SELECT journey, milestone_index, customers_reached FROM funnel "
                               "ORDER BY journey, milestone_index").fetchall()
        finally:
            con.close()
        by_journey: dict[str, list[int]] = {}
        for journey, _, reached in rows:
            by_journey.setdefault(journey, []).append(reached)
        # hand-worked: 2 signups; 1 searched 2 distinct formats after signup; 1 weekly streak; within 30 days
        assert by_journey["control"] == [2, 1, 1, 1], attempt
        assert {j: v for j, v in by_journey.items() if v != by_journey["control"]} == {}, attempt
        assert len(by_journey) == len(docs)
