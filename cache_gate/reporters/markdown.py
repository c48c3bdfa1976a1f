"""`--format markdown`: the pull-request comment. Verdict first, then the KPI table,
the top findings, and the daily trend as a Mermaid chart (GitHub and GitLab draw it).
"""

from __future__ import annotations

from typing import Any

from cache_gate.config import KPI_LABELS
from cache_gate.findings import Result, Severity, sort_findings
from cache_gate.reporters import RenderContext
from cache_gate.reporters.locations import repository_path

TOP_FINDINGS = 20
_STATUS = {"pass": "✅ pass", "fail": "❌ fail", "n/a": "➖ n/a", "insufficient": "❔ insufficient"}
_SEVERITY = {Severity.ERROR: "❌ error", Severity.WARNING: "⚠️ warning", Severity.INFO: "ℹ️ info"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _kpi_table(rows: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| KPI | value | target | numerator / denominator | status |",
             "|---|---:|---:|---:|---|"]
    for name, row in rows.items():
        value = "n/a" if row["value"] is None else f"{row['value']:.1%}"
        lines.append(f"| {KPI_LABELS[name]} | {value} | ≥ {row['target']:.0%} | "
                     f"{row['numerator']:,} / {row['denominator']:,} | {_STATUS[row['status']]} |")
    return lines


def _trend_chart(trend: list[dict[str, Any]]) -> list[str]:
    dated = [row for row in trend if row["prompt_cache_hit_rate"] is not None]
    if len(dated) < 2:
        return []
    days = ", ".join(f'"{row["date"][5:]}"' for row in dated)
    rates = ", ".join(f"{row['prompt_cache_hit_rate'] * 100:.1f}" for row in dated)
    return ["", "```mermaid", "xychart-beta", '    title "Prompt cache hit rate by day (%)"',
            f"    x-axis [{days}]", '    y-axis "hit rate %" 0 --> 100', f"    line [{rates}]",
            "```"]


def render(result: Result, context: RenderContext) -> str:
    del context
    errors = sum(f.severity is Severity.ERROR for f in result.findings)
    warnings = sum(f.severity is Severity.WARNING for f in result.findings)
    verdict = "✅ passed" if result.passed else "❌ failed"
    lines = [f"### cache-gate {result.command}: {verdict}", "",
             f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}."]
    sections = result.sections
    if "cache_hit_rate_pct" in sections and sections["cache_hit_rate_pct"] is not None:
        lines[-1] += f" Prompt cache hit rate: **{sections['cache_hit_rate_pct']}%**."
    if "kpis" in sections:
        lines += ["", *_kpi_table(sections["kpis"])]
    findings = sort_findings(result.findings)
    if findings:
        lines += ["", "| | rule | where | message |", "|---|---|---|---|"]
        for finding in findings[:TOP_FINDINGS]:
            where = repository_path(finding.path) or ""
            if finding.line:
                where += f":{finding.line}"
            message = finding.message + (f" Fix: {finding.hint}" if finding.hint else "")
            lines.append(f"| {_SEVERITY[finding.severity]} | `{finding.rule}` {finding.name} | "
                         f"`{_cell(where)}` | {_cell(message)} |")
        if len(findings) > TOP_FINDINGS:
            lines.append(f"\n…and {len(findings) - TOP_FINDINGS} more.")
    lines += _trend_chart(sections.get("trend", []))
    return "\n".join(lines) + "\n"
