"""``clg-metrics report`` in a real browser: the demo's page opened from disk in headless Chromium
(Debian's ``chromium``, driven over the DevTools protocol by Playwright), with no console error and
no network request, and its numbers equal to the published tables.

The demo's journey description is given markup (a script that logs an error, an image on a remote
host) before the build: escaping that fails shows up as a console error or a request. Screenshots
(1366×768 and 1920×1080, full page) and an A4 PDF are saved under the test's tmp dir.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import cli, copy_demo
from engines import unavailable

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOSTILE = '<script>console.error("escaped?")</script><img src="http://example.invalid/x.png"> & more'


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The demo built once, its report written to target/report.html."""
    saved = {k: os.environ.pop(k) for k in ("CLG_PROFILES_DIR", "CLG_DUCKDB_PATH") if k in os.environ}
    try:
        root = copy_demo(tmp_path_factory.mktemp("report") / "demo")
        journey = root / "milestones" / "audience_research.yml"
        text = journey.read_text()
        start = text.index("description:")
        end = text.index("\n", start)
        journey.write_text(text[:start] + f"description: '{HOSTILE}'" + text[end:])
        (root / "profiles.yml").write_text("clg_metrics:\n  outputs:\n    dev: {type: duckdb, path: target/clg.duckdb}\n")
        code, output = cli("build", project_dir=root)
        assert code == 0, output
        code, output = cli("report", project_dir=root)
        assert code == 0, output
        assert "Wrote" in output and (root / "target" / "report.html").exists()
        return root
    finally:
        os.environ.update(saved)


def published(root: Path, table: str) -> list[dict] | None:
    con = duckdb.connect(str(root / "target" / "clg.duckdb"), read_only=True)
    try:
        if not con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = ?", [table]).fetchall():
            return None
        cursor = con.execute(f'SELECT * FROM "{table}"')
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]
    finally:
        con.close()


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        unavailable("no chromium (apt-get install chromium; .ci/with-servers installs it)")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page_of(browser, demo, tmp_path_factory):
    """Open the report at a viewport; record console messages, page errors and every request."""
    opened = {}
    shots = tmp_path_factory.mktemp("screens")

    def open_at(width: int, height: int):
        if width in opened:
            return opened[width]
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        log = {"console": [], "errors": [], "requests": []}
        page.on("console", lambda m: log["console"].append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: log["errors"].append(str(e)))
        page.on("request", lambda r: log["requests"].append(r.url))
        url = (demo / "target" / "report.html").as_uri()
        page.goto(url, wait_until="load")
        shot = shots / f"report-{width}x{height}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
        opened[width] = (page, log, url, shot)
        return opened[width]

    return open_at


@pytest.mark.parametrize("width, height", [(1366, 768), (1920, 1080)])
def test_opens_offline_without_errors_and_fits_the_screen(page_of, width, height):
    page, log, url, shot = page_of(width, height)
    assert log["requests"] == [url], "the page may load nothing but itself"
    assert log["console"] == [] and log["errors"] == []
    assert shot.stat().st_size > 50_000
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scrolling on a laptop"
    assert page.evaluate("document.querySelectorAll('svg.chart').length") >= 2
    assert page.evaluate("document.querySelectorAll('script, img, link, iframe').length") == 0


def test_user_text_is_escaped(page_of):
    page, *_ = page_of(1366, 768)
    assert HOSTILE in page.inner_text("header.top")


def _cell(page, row_selector: str, column: int) -> str:
    return page.inner_text(f"{row_selector} td:nth-child({column})").strip()


def test_funnel_counts_equal_the_published_funnel(page_of, demo):
    page, *_ = page_of(1366, 768)
    funnel = published(demo, "funnel")
    assert len(funnel) == 7
    assert page.evaluate("document.querySelectorAll('tr[data-funnel]').length") == len(funnel)
    for r in funnel:
        row = f'tr[data-funnel][data-milestone="{r["milestone"]}"]'
        assert _cell(page, row, 2) == f'{r["customers_reached"]:,}'
        pct = r["pct_of_previous"]
        assert _cell(page, row, 4) == ("–" if pct is None else f"{float(pct):.2f}")
        card = page.inner_text(f'.card[data-milestone="{r["milestone"]}"] [data-col=customers_reached]')
        assert card.split()[0] == f'{r["customers_reached"]:,}'
    # the CX map: phases side by side, in the journey's order
    phases = page.evaluate("[...document.querySelectorAll('.phase')].map(e => e.dataset.phase)")
    assert phases == ["struggle", "evaluation", "growth"]
    boxes = [page.locator(f'.phase[data-phase="{p}"]').bounding_box() for p in phases]
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"] and abs(boxes[0]["y"] - boxes[2]["y"]) < 1


def test_status_mix_equals_milestone_status(page_of, demo):
    page, *_ = page_of(1366, 768)
    rows = published(demo, "milestone_status")
    in_progress = sum(1 for r in rows if r["milestone"] == "interest" and r["status"] == "in_progress")
    text = page.inner_text('.card[data-milestone="interest"] .mixlegend')
    assert f"in progress {in_progress:,}" in text


def test_success_gap_and_cohort_cell_equal_the_published_tables(page_of, demo):
    page, *_ = page_of(1366, 768)
    gaps = published(demo, "success_gaps")
    if gaps is None:
        assert "success_gaps" in page.inner_text("section[id$=funnel]")  # the note says it is missing
    else:
        gap = next(r for r in gaps if r["segment"] == "all" and r["rank"] == 1)
        highlighted = page.locator("tr[data-gap].hl")
        assert highlighted.count() == 1
        assert highlighted.get_attribute("data-to") == gap["to_milestone"]
        expected = "–" if gap["gap_customers"] is None else f'{float(gap["gap_customers"]):,.2f}'
        assert _cell(page, "tr[data-gap].hl", 9) == expected
        assert page.locator(f'.card.gap[data-milestone="{gap["to_milestone"]}"]').count() == 1
    cohorts = published(demo, "cohort_funnel")
    if cohorts is None:
        assert "cohort_funnel" in page.inner_text("section[id$=cohorts]")
    else:
        cell = next(r for r in cohorts if r["milestone_index"] == 2)
        row = f'tr[data-cohort="{cell["cohort_start"].isoformat()}"]'
        value = cell["pct_reached_within"]
        assert _cell(page, row, 2 + 2) == ("–" if value is None else f"{float(value):.2f}")


def test_build_section_names_as_of_and_build_id(page_of, demo):
    page, *_ = page_of(1366, 768)
    text = page.inner_text("section#build")
    run_id = max(r["run_id"] for r in published(demo, "dq_results"))
    assert "2025-01-01 00:00:00" in text and run_id in text
    assert "14 run" in text or " run, " in text


def test_prints_on_a4(page_of, tmp_path):
    page, *_ = page_of(1366, 768)
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 50_000


def test_unknown_journey_is_a_located_usage_error(demo):
    code, output = cli("report", "--journey", "audience_reserch", project_dir=demo)
    assert code == 2 and "audience_research" in output
