"""`report --format html` as its reader sees it: opened from disk by headless Chromium
(Debian's package) with the network off. The page must load with no console error and
no request but its own file, every chart must draw something inside the page in both
colour schemes, and every chart's marks must carry the data of the JSON report written
by the same run.

Skips, saying why, where Chromium or Playwright is absent (CI requires both).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cache_gate.cli import cli
from tests.consumers import chromium
from tests.ledgers import backlog, write_ledger

ROOT = Path(__file__).parents[2]
DEMO = ROOT / "fixtures" / "demo"
# Chromium's flags for a closed network (its background services would try to connect).
FLAGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable), args=FLAGS,
                                              chromium_sandbox=False)
        yield launched
        launched.close()


def write_reports(directory: Path, *args: str) -> tuple[Path, dict[str, Any]]:
    """`report` in `directory` with an HTML and a JSON report of the same run."""
    page, data = directory / "report.html", directory / "report.json"
    result = CliRunner().invoke(cli, ["report", *args, "--format", "html", "--output",
                                      str(page), "--report", f"json={data}"])
    assert result.exit_code == 0, result.output
    return page, json.loads(data.read_text())


class Opened:
    """A report opened in the browser: what it logged and asked for, and its marks."""

    def __init__(self, browser: Any, path: Path, scheme: str = "light") -> None:
        self.url = path.resolve().as_uri()
        self.context = browser.new_context(offline=True, color_scheme=scheme,
                                           viewport={"width": 1100, "height": 900})
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.goto(self.url, wait_until="load")

    def marks(self, chart: str) -> list[dict[str, Any]]:
        """Every mark of `chart`: its series, x and value, decoded from the attributes."""
        found = self.page.eval_on_selector_all(
            f'svg[data-chart="{chart}"] [data-series]',
            "marks => marks.map(m => [m.dataset.series, m.dataset.x, m.dataset.value])")
        return [{"series": s, "x": json.loads(x), "value": json.loads(v)} for s, x, v in found]

    def markers(self, chart: str) -> dict[str, Any]:
        found = self.page.eval_on_selector_all(
            f'svg[data-chart="{chart}"] [data-marker]',
            "marks => marks.map(m => [m.dataset.marker, m.dataset.value])")
        return {name: json.loads(value) for name, value in found}

    def charts(self) -> list[str]:
        return list(self.page.eval_on_selector_all("svg[data-chart]",
                                                   "svgs => svgs.map(s => s.dataset.chart)"))


def series(marks: list[dict[str, Any]], name: str) -> dict[Any, Any]:
    return {m["x"]: m["value"] for m in marks if m["series"] == name}


def totals(marks: list[dict[str, Any]]) -> dict[Any, float]:
    summed: dict[Any, float] = {}
    for mark in marks:
        summed[mark["x"]] = summed.get(mark["x"], 0) + mark["value"]
    return summed


def assert_clean_and_drawn(opened: Opened, path: Path) -> None:
    """No console message, no request but the file, every chart non-blank and inside
    the page."""
    from PIL import Image

    assert opened.console == []
    assert opened.requests == [opened.url]
    width = opened.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1100, "the page scrolls sideways"
    background = Image.open(BytesIO(opened.page.screenshot(clip={
        "x": 0, "y": 0, "width": 4, "height": 4}))).convert("RGB").getpixel((1, 1))
    for chart in opened.charts():
        svg = opened.page.locator(f'svg[data-chart="{chart}"]')
        box = svg.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100, chart
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, chart
        image = Image.open(BytesIO(svg.screenshot())).convert("RGB")
        colours = image.getcolors(maxcolors=image.width * image.height)
        assert colours is not None
        pixels = image.width * image.height
        inked = pixels - sum(count for count, colour in colours if colour == background)
        # Axes, ticks and marks: more than a frame's worth of pixels, in several colours.
        assert inked > pixels * 0.02, f"{chart} is blank ({inked} of {pixels} pixels)"
        assert len(colours) > 8, f"{chart} has {len(colours)} colours"


# --- the bundled example ----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    directory = tmp_path_factory.mktemp("demo-report")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(DEMO)
        return write_reports(directory)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_demo_report_opens_offline_with_every_chart_drawn(
        browser: Any, demo: tuple[Path, dict[str, Any]], scheme: str) -> None:
    page, _ = demo
    opened = Opened(browser, page, scheme)
    assert_clean_and_drawn(opened, page)
    assert opened.charts() == ["chart-trend", "chart-causes-time", "chart-causes-workflow",
                               "chart-causes-prompt", "chart-gaps-0", "chart-gaps-1",
                               "chart-gaps-2", "chart-response-ttl", "chart-semantic",
                               "chart-workflows"]
    dark = opened.page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (dark == "rgb(13, 17, 23)") == (scheme == "dark")
    opened.context.close()


def test_the_demo_charts_hold_the_json_reports_data(
        browser: Any, demo: tuple[Path, dict[str, Any]]) -> None:
    page, report = demo
    opened = Opened(browser, page)
    trend = opened.marks("chart-trend")
    for row in report["trend"]:  # a day a point: the JSON's rates, unrounded
        assert series(trend, "prompt_cache_hit_rate")[row["date"]] == pytest.approx(
            row["prompt_cache_hit_rate"], abs=5e-5)
        assert series(trend, "cached_token_ratio")[row["date"]] == pytest.approx(
            row["cached_token_ratio"], abs=5e-5)
    assert len(trend) == 2 * len(report["trend"])
    causes = report["miss_causes"]
    assert totals(opened.marks("chart-causes-time")) == {
        day: sum(c["requests"] for c in table.values())
        for day, table in causes["by_day"].items()}
    for name, chart in (("by_workflow", "chart-causes-workflow"),
                        ("by_prompt", "chart-causes-prompt")):
        assert totals(opened.marks(chart)) == {
            group: sum(c["requests"] for c in table.values())
            for group, table in list(causes[name].items())[:10]}
    layers = series(opened.marks("chart-causes-time"), "ttl_expired")
    assert layers == {day: table["ttl_expired"]["requests"]
                      for day, table in causes["by_day"].items() if "ttl_expired" in table}
    bins = report["ttl_gap_bins_s"]
    for rank, row in enumerate(report["ttl_advice"][:3]):
        chart = f"chart-gaps-{rank}"
        assert series(opened.marks(chart), "gaps") == {
            bound: count for bound, count in zip([*bins, None], row["gaps"], strict=True)
            if count}
        assert opened.markers(chart) == {"ttl-5m": 300, "ttl-1h": 3600}
    response = report["response_ttl_curve"]
    assert series(opened.marks("chart-response-ttl"), "hits") == {
        p["ttl_s"]: p["hits"] for p in response["points"]}
    assert opened.markers("chart-response-ttl") == {
        "configured": response["configured_ttl_s"],
        "recommended": response["recommended_ttl_s"]}
    semantic = report["semantic_threshold_curve"]
    marks = opened.marks("chart-semantic")
    assert series(marks, "hits") == {p["threshold"]: p["hits"] for p in semantic["points"]}
    assert series(marks, "known_useless") == {
        p["threshold"]: p["known_useless"] for p in semantic["points"]}
    assert opened.markers("chart-semantic") == {"configured": semantic["configured"]}
    workflows = report["breakdown"]["workflow"]
    assert series(opened.marks("chart-workflows"), "prompt_cache_hit_rate") == {
        name: row["prompt_cache_hit_rate"] for name, row in list(workflows.items())[:10]}
    opened.context.close()


# --- a year of traffic ------------------------------------------------------------------


def year_of_traffic(path: Path, records: int = 20_000) -> Path:
    """A year of backlog requests, a quarter of them repeats, hit rates drifting."""
    rng = random.Random(7)
    start = datetime(2025, 12, 1, tzinfo=UTC)
    step = timedelta(days=365) / records
    lines = []
    for index in range(records):
        moment = start + step * index
        workflow = ("implementer", "reviewer", "triage")[index % 3]
        hit = rng.random() < 0.5 + 0.3 * math.sin(index / records * 6)
        lines.append(backlog(
            timestamp=moment.isoformat().replace("+00:00", "Z"), workflow=workflow,
            prompt_id=workflow, prefix_sha256=f"{workflow}-{index // 5000}",
            cache_hit=hit, input_tokens=10_000, cached_input_tokens=8_000 if hit else 0,
            request_sha256=f"r{rng.randrange(records // 4)}",
            response_cache={"status": rng.choice(("hit", "miss")), "useful": True},
            semantic_cache={"status": "miss", "similarity": rng.uniform(0.78, 0.99),
                            "useful": rng.random() < 0.9}))
    return write_ledger(path, *lines)


def test_a_year_is_drawn_by_the_week_in_a_small_file(
        browser: Any, tmp_path: Path) -> None:
    ledger = year_of_traffic(tmp_path / "year.jsonl")
    page, report = write_reports(tmp_path, "--ledger", str(ledger))
    assert page.stat().st_size < 1_000_000
    opened = Opened(browser, page)
    assert_clean_and_drawn(opened, page)
    hit_rate = series(opened.marks("chart-trend"), "prompt_cache_hit_rate")
    # A point a week, from Monday: the week's hits over its eligible requests, summed
    # from the JSON's days (never an average of daily rates).
    weeks: dict[str, list[int]] = {}
    for row in report["trend"]:
        day = datetime.fromisoformat(row["date"])
        monday = (day - timedelta(days=day.weekday())).date().isoformat()
        sums = weeks.setdefault(monday, [0, 0])
        sums[0] += row["prompt_cache_hits"]
        sums[1] += row["eligible"]
    assert hit_rate == {week: pytest.approx(hits / eligible)
                        for week, (hits, eligible) in weeks.items()}
    assert 52 <= len(hit_rate) <= 54
    opened.context.close()
