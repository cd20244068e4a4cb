"""The demo seeds: deterministic bytes, the agreed file shapes, and a funnel that tells the story.

The demo's docs quote numbers computed from these files, so the generator must write the same
bytes every time; and the demo journey is only worth showing if most trials stall before first
value, which is checked here with plain Python counts, independently of any SQL.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from clg_metrics.demo_data import main, write_demo_seeds

EVENT_NAMES = {
    "page_view",
    "trial_started",
    "search",
    "list_created",
    "export",
    "login",
    "upgrade",
    "review",
    "referral",
    "support_ticket",
}
FILES = ("raw_events.csv", "raw_customers.csv")


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    seeds_dir = tmp_path_factory.mktemp("seeds")
    write_demo_seeds(seeds_dir)
    return seeds_dir


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")  # exact format, no zone


def _in_2024(ts: str) -> bool:
    if not TIMESTAMP.fullmatch(ts):
        return False
    return datetime(2024, 1, 1) <= datetime.fromisoformat(ts) <= datetime(2024, 12, 31, 23, 59, 59)


def test_same_call_writes_identical_bytes(seeds: Path, tmp_path: Path) -> None:
    random.seed(12345)  # the global generator must not matter
    random.random()
    write_demo_seeds(tmp_path)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (seeds / name).read_bytes(), name


def test_another_seed_writes_other_data(tmp_path: Path) -> None:
    write_demo_seeds(tmp_path / "a", customers=200, seed=1)
    write_demo_seeds(tmp_path / "b", customers=200, seed=2)
    assert (tmp_path / "a" / FILES[0]).read_bytes() != (tmp_path / "b" / FILES[0]).read_bytes()


def test_headers(seeds: Path) -> None:
    assert _header(seeds / "raw_events.csv") == ["event_id", "user_id", "event", "ts", "properties"]
    assert _header(seeds / "raw_customers.csv") == ["user_id", "created_at", "plan", "channel"]


def test_events_are_well_formed(seeds: Path) -> None:
    rows = _rows(seeds / "raw_events.csv")
    assert 60_000 <= len(rows) <= 120_000
    assert {row["event"] for row in rows} == EVENT_NAMES
    ids = [int(row["event_id"]) for row in rows]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    keys = [(row["ts"], int(row["event_id"])) for row in rows]
    assert keys == sorted(keys)
    formats = Counter()
    for row in rows:
        assert _in_2024(row["ts"]), row
        int(row["user_id"])
        properties = json.loads(row["properties"])
        assert isinstance(properties, dict)
        assert row["properties"] == json.dumps(properties, separators=(",", ":"), sort_keys=True)
        if row["event"] == "export":
            formats[properties["format"]] += 1
    assert set(formats) == {"csv", "xlsx", "pdf"}
    assert formats.most_common(1)[0][0] == "csv"
    assert (seeds / "raw_events.csv").stat().st_size < 8_000_000


def test_customers_are_well_formed(seeds: Path) -> None:
    customers = _rows(seeds / "raw_customers.csv")
    events = _rows(seeds / "raw_events.csv")
    ids = [row["user_id"] for row in customers]
    assert len(set(ids)) == len(ids)
    assert {row["plan"] for row in customers} == {"free", "pro", "agency"}
    assert {row["channel"] for row in customers} == {"organic", "paid", "referral", "partner"}
    assert all(_in_2024(row["created_at"]) for row in customers)
    first_event: dict[str, str] = {}
    trials = set()
    for row in events:
        first_event.setdefault(row["user_id"], row["ts"])
        if row["event"] == "trial_started":
            trials.add(row["user_id"])
    assert trials <= set(ids)  # every trial is a signup with a customers row
    # Some signups have no events yet, some accounts exist before their first event.
    assert any(row["user_id"] not in first_event for row in customers)
    assert any(
        row["user_id"] in first_event and row["created_at"] < first_event[row["user_id"]] for row in customers
    )


def test_the_demo_tells_its_story(seeds: Path) -> None:
    counts: dict[str, Counter[str]] = {}
    for row in _rows(seeds / "raw_events.csv"):
        counts.setdefault(row["user_id"], Counter())[row["event"]] += 1
    users = len(counts)
    trial_share = sum(1 for c in counts.values() if c["trial_started"]) / users
    first_value_share = sum(1 for c in counts.values() if c["search"] >= 5 and c["list_created"] >= 1) / users
    visitors_only = sum(1 for c in counts.values() if set(c) == {"page_view"} and c["page_view"] <= 3) / users
    assert 0.25 <= trial_share <= 0.45
    assert first_value_share < trial_share / 2  # the big drop: interest -> first value
    assert first_value_share > 0.05
    assert visitors_only > 0.5  # most visitors look at a page or three and leave


def test_main_writes_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "out"), "--customers", "60", "--seed", "3"]) == 0
    for name in FILES:
        assert (tmp_path / "out" / name).is_file()
    assert "raw_events.csv" in capsys.readouterr().out
