"""`--format markdown` (the pull-request comment, and GitHub's job summary) as GitHub
renders it: through cmark-gfm, GitHub's own Markdown parser (the `cmarkgfm` bindings),
every table row intact whatever a file name holds, errors first when the findings are
cut, and the trend chart readable over a year.

Regenerate the golden file after an intended change with
    CACHE_GATE_UPDATE_GOLDEN=1 python -m pytest tests/reporters -k markdown
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import html

from cache_gate import __version__, reporters
from cache_gate.cli import cli
from cache_gate.findings import Finding, Result, Severity
from cache_gate.reporters import RenderContext
from cache_gate.reporters.markdown import TOP_FINDINGS
from tests import consumers
from tests.ledgers import backlog, write_ledger
from tests.lint.repo import cwd
from tests.reporters.test_reporters import sample

GOLDEN = Path(__file__).parent / "golden"
FINDINGS_HEADER = ["", "rule", "where", "message"]


def render(result: Result) -> str:
    return reporters.get("markdown")(result, RenderContext(exit_code=1))


def github_html(markdown: str) -> html.HtmlElement:
    """`markdown` as GitHub renders it (cmark-gfm with GitHub's extensions)."""
    try:
        import cmarkgfm
    except ImportError:
        consumers.unavailable("cmarkgfm (GitHub's Markdown parser) is not installed: "
                              "it is in the test extras")
    rendered: str = cmarkgfm.github_flavored_markdown_to_html(markdown)
    return html.fragment_fromstring(rendered, create_parent="div")


def tables(markdown: str) -> list[list[list[str]]]:
    """Each rendered table as rows of cell texts, the header row first."""
    return [[[cell.text_content() for cell in row] for row in table.iter("tr")]
            for table in github_html(markdown).iter("table")]


def findings_table(markdown: str) -> list[list[str]]:
    [table] = [table for table in tables(markdown) if table[0] == FINDINGS_HEADER]
    return table[1:]


def test_golden_output() -> None:
    golden = GOLDEN / "kpi.markdown"
    output = render(sample()).replace(__version__, "<version>")
    if os.environ.get("CACHE_GATE_UPDATE_GOLDEN"):
        golden.write_text(output, encoding="utf-8")
    assert output == golden.read_text(encoding="utf-8")


def test_the_verdict_comes_first_then_the_kpis_and_the_findings_errors_first() -> None:
    markdown = render(sample())
    assert markdown.splitlines()[0] == "### cache-gate kpi: ❌ failed"
    kpi_table, findings = tables(markdown)
    assert kpi_table[1] == ["prompt cache hit rate", "42.0%", "≥ 60%", "42 / 100", "❌ fail"]
    assert [row[0] for row in findings[1:]] == ["❌ error"] * 3 + ["⚠️ warning", "ℹ️ info"]
    assert 'x-axis ["11-20", "11-21"]' in markdown and "line [50.0, 34.0]" in markdown


# --- input data in cells ---------------------------------------------------------------

@pytest.mark.parametrize(("path", "shown"), [
    ("prompts/cr\rhere.md", "prompts/cr\\rhere.md"),
    ("prompts/lf\nhere.md", "prompts/lf\\nhere.md"),
    ("prompts/pipe|here.md", "prompts/pipe|here.md"),
    ("prompts/tick`here.md", "prompts/tick`here.md"),
    ("`ticks``.md", "`ticks``.md"),
    ("prompts/<b>bold</b> & *star*.md", "prompts/<b>bold</b> & *star*.md"),
    ("prompts/bidi\u202eevil.md", "prompts/bidi\\u202eevil.md"),
])
def test_a_file_name_stays_one_cell_shown_as_it_is(path: str, shown: str) -> None:
    message = f"a date in {path}"
    findings = [Finding(path, 3, "CG101", "timestamp-literal", Severity.ERROR, message,
                        prompt_id=f"id|{path}", hint="Move `it`."),
                Finding("0-first.md", 1, "CG101", "timestamp-literal", Severity.ERROR, "x")]
    rows = findings_table(render(Result("lint", findings)))
    assert rows == [
        ["❌ error", "CG101 timestamp-literal", "0-first.md:1", "x"],
        ["❌ error", "CG101 timestamp-literal", f"{shown}:3",
         f"[prompt id|{shown}] a date in {shown} Fix: Move `it`."],
    ]


def test_cut_findings_put_errors_first_and_say_what_was_left_out() -> None:
    """9,308 warnings sorted before the one error by file name used to fill the table."""
    warnings = [Finding(".backlog-ops/usage-ledger.jsonl", line, "CG206", "ledger-bad-lines",
                        Severity.WARNING, "malformed ledger line") for line in range(1, 9309)]
    error = Finding("prompts/system.md", 3, "CG101", "timestamp-literal", Severity.ERROR,
                    "a date in the stable prefix")
    notes = [Finding(None, None, "CG404", "low-repetition-workload", Severity.INFO, "few")] * 2
    markdown = render(Result("check", [*warnings, error, *notes]))
    rows = findings_table(markdown)
    assert len(rows) == TOP_FINDINGS
    assert rows[0][:3] == ["❌ error", "CG101 timestamp-literal", "prompts/system.md:3"]
    assert {row[0] for row in rows[1:]} == {"⚠️ warning"}
    assert (f"…and {9308 - (TOP_FINDINGS - 1):,} warnings, 2 notes more, not shown here"
            in github_html(markdown).text_content())


# --- the two prompt cache hit rates ---------------------------------------------------

def two_pools(tmp_path: Path) -> Path:
    """A ledger where the implementer workflow has its own target, so the global
    target judges the other workflows only: 8 of 10 validation requests hit, 1 of 10
    implementer ones; over every eligible request, 9 of 20."""
    write_ledger(tmp_path / "ledger.jsonl",
                 *[backlog(workflow="validation", cache_hit=i < 8) for i in range(10)],
                 *[backlog(workflow="implementer", cache_hit=i < 1) for i in range(10)])
    (tmp_path / ".cache-gate.toml").write_text(
        'ledger = "ledger.jsonl"\nmin-requests = 1\n'
        "[workflow-targets.implementer]\nprompt_cache_hit_rate = 0.05\n")
    return tmp_path


def run(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    with cwd(root):
        result = CliRunner(env=env).invoke(cli, ["kpi", "--no-color", *args],
                                           catch_exceptions=False)
    return result.stdout


def test_the_two_hit_rates_are_labelled_apart_in_every_human_report(tmp_path: Path) -> None:
    root = two_pools(tmp_path)
    document: dict[str, Any] = json.loads(run(root, "--format", "json"))
    assert document["cache_hit_rate_pct"] == 45.0  # the JSON keys stay as they are
    assert document["kpis"]["prompt_cache_hit_rate"]["value"] == 0.8

    text = run(root)
    assert re.search(r"prompt cache hit rate +80\.0% .*\[workflows without their own target\]",
                     text)
    assert "all workflows: prompt cache hit rate 45.0% over every eligible request" in text

    summary = tmp_path / "summary.md"
    run(root, "--format", "github", env={"GITHUB_STEP_SUMMARY": str(summary)})
    for markdown in (run(root, "--format", "markdown"), summary.read_text()):
        page = github_html(markdown)
        assert ("Prompt cache hit rate over every eligible request (all workflows): 45.0%."
                in page.text_content())
        kpi_rows = tables(markdown)[0]
        assert kpi_rows[1][:2] == [
            "prompt cache hit rate (workflows without their own target)", "80.0%"]
        assert kpi_rows[-1][:2] == [
            "prompt cache hit rate (workflow implementer, its own target)", "10.0%"]


def test_one_pool_keeps_one_name(tmp_path: Path) -> None:
    write_ledger(tmp_path / "ledger.jsonl", *[backlog(cache_hit=i < 8) for i in range(10)])
    markdown = run(tmp_path, "--ledger", "ledger.jsonl", "--min-requests", "1",
                   "--format", "markdown")
    assert "Prompt cache hit rate: 80.0%." in github_html(markdown).text_content()
    assert tables(markdown)[0][1][0] == "prompt cache hit rate"


# --- the trend chart -------------------------------------------------------------------

def day_row(day: dt.date, hits: int, eligible: int) -> dict[str, Any]:
    """A `report` trend row, with the counts its rate is made of."""
    return {"date": day.isoformat(), "requests": eligible + 1, "eligible": eligible,
            "prompt_cache_hits": hits,
            "prompt_cache_hit_rate": round(hits / eligible, 4) if eligible else None}


def chart(trend: list[dict[str, Any]]) -> dict[str, Any]:
    """The Mermaid chart of a report with this trend: its title, x labels and values."""
    markdown = render(Result("report", [], {"trend": trend}))
    block = re.search(r"```mermaid\n(.*?)```", markdown, re.S)
    assert block is not None
    title = re.search(r'title "(.*)"', block[1])
    labels = re.search(r"x-axis \[(.*)\]", block[1])
    values = re.search(r"line \[(.*)\]", block[1])
    assert title and labels and values
    return {"title": title[1], "labels": [label.strip('"') for label in labels[1].split(", ")],
            "values": [float(value) for value in values[1].split(", ")]}


def test_up_to_sixty_days_the_chart_has_a_point_a_day() -> None:
    start = dt.date(2026, 9, 1)
    drawn = chart([day_row(start + dt.timedelta(days=n), 1, 2) for n in range(60)])
    assert drawn["title"] == "Prompt cache hit rate by day (%)"
    assert (len(drawn["labels"]), drawn["labels"][0]) == (60, "09-01")


def test_a_year_is_drawn_by_week_summing_counts_not_averaging_rates() -> None:
    start = dt.date(2025, 12, 1)  # a Monday
    trend = [day_row(start + dt.timedelta(days=n), 1, 2) for n in range(365)]
    # The first week: a busy day at 90% and six quiet ones at 0%; 90 of 106, not 13%.
    trend[0:7] = [day_row(start, 90, 100)] + [
        day_row(start + dt.timedelta(days=n), 0, 1) for n in range(1, 7)]
    drawn = chart(trend)
    assert drawn["title"] == "Prompt cache hit rate by week (from Monday) (%)"
    assert len(drawn["labels"]) == 53
    assert drawn["values"][:2] == [84.9, 50.0]
    # The range crosses a year: every label says which.
    assert drawn["labels"][:6] == ["2025-12-01", "2025-12-08", "2025-12-15", "2025-12-22",
                                   "2025-12-29", "2026-01-05"]


def test_days_without_an_eligible_request_are_left_out_of_their_week() -> None:
    start = dt.date(2026, 3, 2)  # a Monday
    trend = [day_row(start + dt.timedelta(days=n), *((1, 4) if n % 7 else (0, 0)))
             for n in range(70)]
    assert chart(trend)["values"] == [25.0] * 10


def test_years_of_data_are_drawn_by_month() -> None:
    start = dt.date(2024, 1, 1)
    drawn = chart([day_row(start + dt.timedelta(days=n), 1, 4) for n in range(731)])
    assert drawn["title"] == "Prompt cache hit rate by month (%)"
    assert drawn["labels"][:2] == ["2024-01", "2024-02"]
    assert (len(drawn["labels"]), drawn["labels"][-1]) == (24, "2025-12")


def test_a_trend_without_counts_shows_its_last_sixty_days() -> None:
    """Daily rates alone cannot be summed into weeks: never average them."""
    start = dt.date(2026, 1, 1)
    trend = [{"date": (start + dt.timedelta(days=n)).isoformat(), "requests": 2,
              "prompt_cache_hit_rate": 0.5} for n in range(365)]
    drawn = chart(trend)
    assert drawn["title"] == "Prompt cache hit rate by day, last 60 days (%)"
    assert (len(drawn["labels"]), drawn["labels"][-1]) == (60, "12-31")


def test_a_range_across_new_year_labels_days_with_their_year() -> None:
    drawn = chart([day_row(dt.date(2025, 12, 30), 1, 2), day_row(dt.date(2026, 1, 2), 1, 2)])
    assert drawn["labels"] == ["2025-12-30", "2026-01-02"]
