"""The demo's survey seed (SPEC §5): coded interview and questionnaire answers of ~100 customers.

A CLG team finds its Job to be Done by asking its best customers why they hired the product and
coding each answer into a struggle, a motivation and an outcome theme. The demo survey is shaped
the same way: most respondents are customers who got the value (10 searches, 2 lists, 2 CSV
exports), paying ones first, and among them the job of the demo journey's ``job:`` text ("When I
plan a campaign for a client, help me find where their audience pays attention, so I can prove
the plan to my boss") is the most common; respondents who stalled give other, scattered jobs.
Some customers answered twice (an interview and a questionnaire), some answers could not be
coded (a NULL theme), and a few questionnaires came back without a customer id.

The survey is read from the events and customers seeds already written (``demo_data``), so it
follows whatever customers those hold, and it comes from its own ``random.Random(seed)``: the
same seeds and seed give byte-identical files. ``python -m clg_metrics.demo_survey SEEDS_DIR``.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

SURVEY_FILE = "raw_survey.csv"
SURVEY_HEADER = ("response_id", "user_id", "method", "answered_on", "struggle_theme", "motivation_theme",
                 "outcome_theme")
PAID_PLANS = ("pro", "agency")

PLAN = "plan a campaign for a client"
STRUGGLES = (PLAN, "pitch a new client", "report on a running campaign", "research a new market")
# Per struggle, (motivation weights, outcome weights): the job text's own pairing dominates.
THEMES: dict[str, tuple[dict[str, int], dict[str, int]]] = {
    PLAN: ({"find where their audience pays attention": 70, "size the audience quickly": 18,
            "compare channels side by side": 12},
           {"prove the plan to my boss": 62, "win the client's budget": 24, "save hours of desk research": 14}),
    "pitch a new client": ({"find where their audience pays attention": 30, "show fresh insight in the pitch": 55,
                            "size the audience quickly": 15},
                           {"win the client's budget": 70, "prove the plan to my boss": 30}),
    "report on a running campaign": ({"compare channels side by side": 60, "size the audience quickly": 40},
                                     {"save hours of desk research": 55, "prove the plan to my boss": 45}),
    "research a new market": ({"size the audience quickly": 60, "find where their audience pays attention": 40},
                              {"save hours of desk research": 70, "win the client's budget": 30}),
}
# Struggle weights: customers who got the value came for the journey's job; the others less so.
VALUE_STRUGGLES = (72, 12, 10, 6)
OTHER_STRUGGLES = (25, 30, 20, 25)


def _value_customers(seeds_dir: Path) -> set[str]:
    """Customers whose events reach the demo's value milestone by plain counts (a trial, 10+
    searches, 2+ lists, 2+ CSV exports), independent of the SQL under test."""
    counts: dict[str, Counter] = defaultdict(Counter)
    with (seeds_dir / "raw_events.csv").open(newline="", encoding="utf-8") as handle:
        for event in csv.DictReader(handle):
            name = event["event"]
            if name == "export" and json.loads(event["properties"] or "{}").get("format") != "csv":
                continue
            counts[event["user_id"]][name] += 1
    return {user for user, c in counts.items()
            if c["trial_started"] and c["search"] >= 10 and c["list_created"] >= 2 and c["export"] >= 2}


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _coded(rng: random.Random, theme: str) -> str:
    """A theme, or "" (NULL) for the one answer in twelve nobody could code."""
    return "" if rng.random() < 1 / 12 else theme


def _build(seeds_dir: Path, respondents: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    with (seeds_dir / "raw_customers.csv").open(newline="", encoding="utf-8") as handle:
        customers = list(csv.DictReader(handle))
    value = _value_customers(seeds_dir)
    paid = [c for c in customers if c["user_id"] in value and c["plan"] in PAID_PLANS]
    free = [c for c in customers if c["user_id"] in value and c["plan"] not in PAID_PLANS]
    stalled = [c for c in customers if c["user_id"] not in value]
    # Best customers first: up to half the respondents are paying customers who got the value.
    chosen = rng.sample(paid, min(len(paid), respondents // 2))
    chosen += rng.sample(free, min(len(free), respondents // 5))
    chosen += rng.sample(stalled, min(len(stalled), respondents - len(chosen)))
    rows: list[list[str]] = []
    for customer in sorted(chosen, key=lambda c: int(c["user_id"])):
        got_value = customer["user_id"] in value
        struggle = rng.choices(STRUGGLES, VALUE_STRUGGLES if got_value else OTHER_STRUGGLES)[0]
        signup = datetime.fromisoformat(customer["created_at"])
        answers = 2 if rng.random() < 0.2 else 1  # an interview, and later a questionnaire
        answered = signup + timedelta(days=rng.randint(14, 120))
        for answer in range(answers):
            if answer and rng.random() < 0.3:  # the second answer names another struggle
                struggle = rng.choice(STRUGGLES)
            motivations, outcomes = THEMES[struggle]
            answered += timedelta(days=rng.randint(7, 60) if answer else 0)
            rows.append([customer["user_id"], "interview" if answer == 0 and got_value else "survey",
                         min(answered, datetime(2024, 12, 31)).strftime("%Y-%m-%d"), _coded(rng, struggle), _coded(rng, _pick(rng, motivations)),
                         _coded(rng, _pick(rng, outcomes))])
    for _ in range(3):  # questionnaires returned without a customer id: ignored by the tables
        struggle = rng.choice(STRUGGLES)
        motivations, outcomes = THEMES[struggle]
        rows.append(["", "survey", "2024-12-15", struggle, _pick(rng, motivations), _pick(rng, outcomes)])
    return [[str(i), *r] for i, r in enumerate(rows, start=1)]


def write_demo_survey(seeds_dir: Path, respondents: int = 100, seed: int = 7) -> Path:
    """Write ``raw_survey.csv`` next to the demo's ``raw_events.csv`` and ``raw_customers.csv``
    (which it reads); the same files and arguments always write the same bytes."""
    seeds_dir = Path(seeds_dir)
    rows = _build(seeds_dir, respondents, seed)
    path = seeds_dir / SURVEY_FILE
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SURVEY_HEADER)
        writer.writerows(rows)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m clg_metrics.demo_survey SEEDS_DIR [--respondents N] [--seed S]``."""
    parser = argparse.ArgumentParser(prog="python -m clg_metrics.demo_survey",
                                     description="Write the demo project's survey seed (raw_survey.csv).")
    parser.add_argument("seeds_dir", type=Path)
    parser.add_argument("--respondents", type=int, default=100, help="customers who answered (default 100)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"wrote {write_demo_survey(args.seeds_dir, args.respondents, args.seed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
