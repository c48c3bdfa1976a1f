"""`--format html` without a browser: inert and self-contained, input data kept out of
its markup, accessible structure, bounded size; and the charts' axis arithmetic.
(tests/reporters/test_html_browser.py opens it in Chromium.)"""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cache_gate.cli import cli
from cache_gate.reporters.charts import Y_TICKS, scale
from tests.ledgers import backlog, write_ledger

DEMO = Path(__file__).parents[2] / "fixtures" / "demo"


class Page(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def ids(self) -> set[str | None]:
        return {attrs.get("id") for _, attrs in self.tags}


def html_of(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--format", "html"])
    assert result.exit_code in (0, 1), result.output
    return result.stdout


@pytest.fixture
def demo_page(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(DEMO)
    return html_of("report")


def test_the_page_loads_nothing_and_runs_nothing(demo_page: str) -> None:
    page = Page(demo_page)
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "base", "a"}
    for tag, attrs in page.tags:
        assert not set(attrs) & {"src", "href", "srcset", "action"}, tag
        assert not any(name.startswith("on") for name in attrs), tag
    assert "url(" not in demo_page and "@import" not in demo_page
    policy = [attrs["content"] for tag, attrs in page.tags
              if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy"]
    assert policy == ["default-src 'none'; style-src 'unsafe-inline'"]


def test_every_chart_has_a_text_alternative_and_its_data_as_a_table(demo_page: str) -> None:
    page = Page(demo_page)
    charts = [attrs for tag, attrs in page.tags if tag == "svg"]
    assert len(charts) == 10
    ids = page.ids()
    for attrs in charts:
        assert attrs["role"] == "img"
        labels = (attrs["aria-labelledby"] or "").split()
        assert len(labels) == 2 and set(labels) <= ids, attrs
    tags = [tag for tag, _ in page.tags]
    assert tags.count("figure") == len(charts)
    # Each figure: its chart, then its caption, then its data table.
    for index in [i for i, tag in enumerate(tags) if tag == "figure"]:
        following = tags[index + 1:]
        assert following[0] == "svg"
        assert following.index("figcaption") < following.index("table")
        assert following.index("table") < (following.index("figure")
                                           if "figure" in following else len(following))


def test_input_data_stays_text(tmp_path: Path) -> None:
    hostile = ['</title><script>alert(1)</script>', '" onmouseover="alert(2)',
               "line\n::error::from the ledger", "<svg onload=alert(3)>"]
    ledger = write_ledger(tmp_path / "l.jsonl", *(
        backlog(workflow=name, prompt_id=name, cache_hit=False, cached_input_tokens=0)
        for name in hostile for _ in range(3)))
    result = CliRunner().invoke(cli, ["report", "--ledger", str(ledger), "--format", "html"])
    page = Page(result.stdout)
    assert {tag for tag, _ in page.tags} <= {
        "html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "p", "strong",
        "section", "table", "caption", "thead", "tbody", "tr", "th", "td", "figure", "svg",
        "desc", "line", "text", "circle", "polyline", "rect", "figcaption", "details",
        "summary", "ul", "li", "span"}
    for _, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs)
    text = "".join(page.text)
    for name in hostile[:2] + hostile[3:]:
        assert name in text
    # No line of the page can be read as a workflow command by a CI runner.
    assert not any(line.lstrip().startswith("::") for line in result.stdout.splitlines())


def test_the_size_is_bounded_whatever_the_names(tmp_path: Path) -> None:
    """Thousands of workflows and prompts with long names: rows and names are cut."""
    ledger = write_ledger(tmp_path / "l.jsonl", *(
        backlog(workflow=f"w{i}-" + "x" * 5000, prompt_id=f"p{i}-" + "y" * 5000,
                cache_hit=i % 2 == 0, cached_input_tokens=800 if i % 2 == 0 else 0)
        for i in range(2000)))
    result = CliRunner().invoke(cli, ["report", "--ledger", str(ledger), "--format", "html"])
    assert result.exit_code == 0
    assert len(result.stdout.encode()) < 300_000
    assert "…and 1,980 more" in result.stdout


def test_kpi_and_check_write_it_as_an_extra_report(demo_page: str, tmp_path: Path) -> None:
    for command in ("kpi", "check"):
        target = tmp_path / f"{command}.html"
        result = CliRunner().invoke(cli, [command, "--report", f"html={target}"])
        assert result.exit_code == 0, result.output
        page = target.read_text()
        assert f"<title>cache-gate {command}</title>" in page
        assert 'id="kpis"' in page and 'data-chart="chart-causes-workflow"' in page
        assert 'id="trend"' not in page  # the report's own sections are report's


def test_the_json_numbers_are_carried_exactly(demo_page: str) -> None:
    """`data-value` is the JSON text of the number (a test reads it back with
    json.loads and compares it with the JSON report)."""
    values = [attrs["data-value"] for tag, attrs in Page(demo_page).tags
              if "data-value" in attrs]
    assert values and all(isinstance(json.loads(v or "x"), int | float) for v in values)


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False))
def test_an_axis_holds_its_largest_value_in_a_few_round_steps(largest: float) -> None:
    top, step = scale(largest)
    assert top >= largest
    ticks = round(top / step)
    assert 1 <= ticks <= Y_TICKS + 1
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert mantissa == pytest.approx(1) or mantissa == pytest.approx(2) \
        or mantissa == pytest.approx(5)
