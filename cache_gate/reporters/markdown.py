"""`--format markdown`: the pull-request comment, and GitHub's job summary. Verdict first,
then the KPI table, the findings (errors first, cut to fit), and the trend as a Mermaid
chart (GitHub and GitLab draw it).

Input data reaches a table cell as one cell of plain text: its control, line-breaking
and invisible code points as visible escapes (as in the text report: a carriage return
in a file name would end the table row), `|` and backticks escaped, and whatever else
Markdown would read as markup (`<tag>`, `*`, `[link]`) escaped as well. A location is a
code span whose fence is longer than any run of backticks in it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from cache_gate.config import KPI_LABELS, target_text
from cache_gate.findings import Result, Severity, cut
from cache_gate.reporters import RenderContext
from cache_gate.reporters.locations import repository_path
from cache_gate.reporters.neutralise import terminal
from cache_gate.reporters.periods import DAILY_UP_TO_DAYS, label, start_of, unit_for

TOP_FINDINGS = 20
_STATUS = {"pass": "✅ pass", "fail": "❌ fail", "n/a": "➖ n/a", "insufficient": "❔ insufficient"}
_SEVERITY = {Severity.ERROR: "❌ error", Severity.WARNING: "⚠️ warning", Severity.INFO: "ℹ️ info"}
# ASCII punctuation that opens Markdown markup inside a line (a table cell is never
# the start of a line, so `#`, `-`, `+`, `>` at a line start do not apply). `&` starts
# an entity, `<` raw HTML or an autolink.
_MARKUP = re.compile(r"([\\`*_\[\]<>|~&])")
_BACKTICKS = re.compile("`+")


def _cell(text: str) -> str:
    """Input text as one table cell of plain text."""
    return _MARKUP.sub(r"\\\1", terminal(text))


def _code_cell(text: str) -> str:
    """Input text as one table cell holding a code span (a path, shown as it is)."""
    if not text:
        return ""
    # Backslash escapes do not work inside a code span, except `\|`: GFM splits a
    # table row at unescaped pipes before it reads code spans.
    text = terminal(text).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def _kpi_line(name: str, row: dict[str, Any], pool: str) -> str:
    value = "n/a" if row["value"] is None else f"{row['value']:.1%}"
    return (f"| {KPI_LABELS[name]}{pool} | {value} | {target_text(name, row['target'])} | "
            f"{row['numerator']:,} / {row['denominator']:,} | {_STATUS[row['status']]} |")


def _kpi_table(sections: dict[str, Any]) -> list[str]:
    """The KPIs, each row named with the pool of requests it judges: the global target
    judges the workflows without their own target, each of those its own."""
    lines = ["| KPI | value | target | numerator / denominator | status |",
             "|---|---:|---:|---:|---|"]
    for name, row in sections["kpis"].items():
        lines.append(_kpi_line(name, row, f" ({_cell(row['scope'])})" if row.get("scope")
                               else ""))
    for workflow, rows in sections.get("workflow_kpis", {}).items():
        pool = f" (workflow {_cell(workflow)}, its own target)"
        lines.extend(_kpi_line(name, row, pool) for name, row in rows.items())
    return lines


def _headline(sections: dict[str, Any]) -> str:
    """The runbook's one-liner: the prompt cache hit rate over every eligible request.
    Where workflows with their own targets left the KPI table's pool, it is a different
    figure from the table's row of the same KPI, and is named apart from it."""
    percent = sections.get("cache_hit_rate_pct")
    if percent is None:
        return ""
    pools_differ = any(row.get("scope") for row in sections.get("kpis", {}).values())
    label = ("Prompt cache hit rate over every eligible request (all workflows)"
             if pools_differ else "Prompt cache hit rate")
    return f" {label}: **{percent}%**."


def _breaking_cost(sections: dict[str, Any]) -> list[str]:
    """The pull request's price first: what its cache-breaking errors cost a day."""
    cost = sections.get("breaking_cost")
    if not cost or not cost["by_prompt"]:
        return []
    prompts = len(cost["by_prompt"])
    return ["", f"**Shipping this change costs ≈ ${cost['usd_per_day']:,.2f} a day** in lost "
                f"prompt caching ({prompts} prompt{'s' * (prompts != 1)} whose cached prefix "
                "it breaks, priced from the usage ledger's traffic)."]


def _findings_table(result: Result) -> list[str]:
    shown = cut(result.findings, TOP_FINDINGS)
    if not shown.shown:
        return []
    lines = ["", "| | rule | where | message |", "|---|---|---|---|"]
    for finding in shown.shown:
        where = repository_path(finding.path) or ""
        if finding.line:
            where += f":{finding.line}"
        message = finding.message
        if finding.prompt_id:
            message = f"[prompt {finding.prompt_id}] {message}"
        message += f" Fix: {finding.hint}" if finding.hint else ""
        lines.append(f"| {_SEVERITY[finding.severity]} | `{finding.rule}` {finding.name} | "
                     f"{_code_cell(where)} | {_cell(message)} |")
    if shown.left_out_total:
        lines += ["", f"…and {shown.describe_left_out()} more, not shown here "
                      "(errors come first; `--format json` lists every finding)."]
    return lines


# --- the trend chart -------------------------------------------------------------------

def _buckets(trend: list[dict[str, Any]], size: str) -> Iterator[tuple[dt.date, float]]:
    """(first day, hit rate) per bucket: the sum of its days' hits over the sum of their
    eligible requests (an average of daily rates would weigh a quiet day like a busy
    one). A bucket with no eligible request has no rate and no point."""
    sums: dict[dt.date, list[int]] = {}
    for row in trend:
        start = start_of(dt.date.fromisoformat(row["date"]), size)
        bucket = sums.setdefault(start, [0, 0])
        bucket[0] += row["prompt_cache_hits"]
        bucket[1] += row["eligible"]
    for start, (hits, eligible) in sorted(sums.items()):
        if eligible:
            yield start, hits / eligible


def _points(trend: list[dict[str, Any]]) -> tuple[str, str, list[tuple[dt.date, float]]]:
    """What the chart shows: (a point's unit, how the title names it, the points)."""
    days = [dt.date.fromisoformat(row["date"]) for row in trend]
    daily = [(day, row["prompt_cache_hit_rate"]) for day, row in zip(days, trend, strict=True)
             if row["prompt_cache_hit_rate"] is not None]
    unit = unit_for(days)
    if unit == "day":
        return "day", "day", daily
    if not all("prompt_cache_hits" in row and "eligible" in row for row in trend):
        # Without the counts, days cannot be summed exactly: the latest days only.
        since = max(days) - dt.timedelta(days=DAILY_UP_TO_DAYS - 1)
        return "day", f"day, last {DAILY_UP_TO_DAYS} days", [p for p in daily if p[0] >= since]
    if unit == "week":
        return "week", "week (from Monday)", list(_buckets(trend, "week"))
    return "month", "month", list(_buckets(trend, "month"))


def _trend_chart(trend: list[dict[str, Any]]) -> list[str]:
    if not trend:
        return []
    unit, caption, points = _points(trend)
    if len(points) < 2:
        return []
    years = len({day.year for day, _ in points})
    labels = ", ".join(f'"{label(day, unit, years)}"' for day, _ in points)
    rates = ", ".join(f"{rate * 100:.1f}" for _, rate in points)
    return ["", "```mermaid", "xychart-beta",
            f'    title "Prompt cache hit rate by {caption} (%)"',
            f"    x-axis [{labels}]", '    y-axis "hit rate %" 0 --> 100', f"    line [{rates}]",
            "```"]


def render(result: Result, context: RenderContext) -> str:
    del context
    errors = sum(f.severity is Severity.ERROR for f in result.findings)
    warnings = sum(f.severity is Severity.WARNING for f in result.findings)
    verdict = "✅ passed" if result.passed else "❌ failed"
    sections = result.sections
    lines = [f"### cache-gate {result.command}: {verdict}", "",
             f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}."
             + _headline(sections)]
    lines += _breaking_cost(sections)
    if "kpis" in sections:
        lines += ["", *_kpi_table(sections)]
    lines += _findings_table(result)
    lines += _trend_chart(sections.get("trend", []))
    return "\n".join(lines) + "\n"
