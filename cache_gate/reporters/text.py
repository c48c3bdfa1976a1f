"""`--format text`: what a person reads in a terminal or a CI log.

Every field that comes from input (paths, prompt ids, workflow names, messages, the
gates' notes) goes through `neutralise.terminal`: a file name cannot clear the screen,
start a line, or reorder the text around it.
"""

from __future__ import annotations

from typing import Any

import click

from cache_gate.config import KPI_LABELS, target_text
from cache_gate.findings import Finding, Result, Severity, sort_findings
from cache_gate.reporters import RenderContext
from cache_gate.reporters.neutralise import terminal

_MARKS = {"pass": ("✔", "green"), "fail": ("✘", "red"), "n/a": ("·", None),
          "insufficient": ("?", "yellow")}
_SEVERITY_COLORS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}


def _style(text: str, color: str | None, context: RenderContext, bold: bool = False) -> str:
    if not context.color or (color is None and not bold):
        return text
    return click.style(text, fg=color, bold=bold)


def verdict(result: Result, context: RenderContext) -> str:
    """The one line that says how the gate went (also printed with --output)."""
    errors = sum(f.severity is Severity.ERROR for f in result.findings)
    warnings = sum(f.severity is Severity.WARNING for f in result.findings)
    counts = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
    if result.passed:
        word = _style("passed", "green", context, bold=True)
    else:
        word = _style("FAILED", "red", context, bold=True)
    return f"cache-gate {result.command}: {word} ({counts})"


def _kpi_rows(rows: dict[str, dict[str, Any]], context: RenderContext, indent: str) -> list[str]:
    lines = []
    for name, row in rows.items():
        mark, color = _MARKS[row["status"]]
        value = "n/a" if row["value"] is None else f"{row['value']:.1%}"
        unit = "tokens" if name == "cached_token_ratio" else "requests"
        if row["denominator"]:
            detail = f"{row['numerator']:,} / {row['denominator']:,} {unit}"
        else:
            detail = "not in use: nothing reports it"
        if row["status"] == "insufficient":
            detail += f" (insufficient: {row['requests']:,} requests)"
        if row.get("scope"):
            detail += f" [{row['scope']}]"
        lines.append(f"{indent}{_style(mark, color, context)} {KPI_LABELS[name]:<31} "
                     f"{value:>6}  target {target_text(name, row['target'])}  {detail}")
    return lines


def _whole_pool_line(sections: dict[str, Any]) -> list[str]:
    """The prompt cache hit rate over every eligible request (`cache_hit_rate_pct`),
    where it differs in pool from the KPI row of the same name: that row leaves out
    the workflows judged on their own targets."""
    percent = sections.get("cache_hit_rate_pct")
    if percent is None or not any(row.get("scope") for row in sections["kpis"].values()):
        return []
    return [f"  all workflows: prompt cache hit rate {percent}% over every eligible request "
            "(no target judges it)"]


def _ledger_line(ledger: dict[str, Any]) -> str:
    formats = ", ".join(f"{terminal(name)} {count:,}"
                        for name, count in ledger["formats"].items())
    window = ledger["window"]
    span = ""
    if window["since"] or window["until"]:
        span = (f"; window {terminal(str(window['since'] or '…'))} → "
                f"{terminal(str(window['until'] or '…'))}")
        if window["undated_excluded"]:
            span += f" ({window['undated_excluded']:,} undated records excluded)"
    count = ledger["bad_lines"]
    bad = f"; {count:,} malformed line{'s' * (count != 1)}" if count else ""
    incremental = ledger.get("incremental")
    if incremental and incremental["resumed"]:  # what the checkpoint saved reading
        bad += (f"; read {_size(incremental['read_bytes'])}, the other "
                f"{_size(incremental['reused_bytes'])} from the last run's checkpoint")
    return (f"ledger {terminal(str(ledger['path']))}: {ledger['records']:,} requests"
            f"{f' ({formats})' if formats else ''}{span}{bad}")


def _size(count: int) -> str:
    return f"{count / 1e3:,.1f} kB" if count < 1e6 else f"{count / 1e6:,.1f} MB"


def _finding(finding: Finding, context: RenderContext) -> str:
    place = terminal(finding.path or "")
    if finding.line:
        place += f":{finding.line}"
    place = f"{place}: " if place else ""
    severity = _style(finding.severity.value, _SEVERITY_COLORS[finding.severity], context)
    prompt = f" [prompt {terminal(finding.prompt_id)}]" if finding.prompt_id else ""
    line = (f"{place}{finding.rule} {finding.name} {severity}{prompt}: "
            f"{terminal(finding.message)}")
    if finding.hint:
        line += f"\n    fix: {terminal(finding.hint)}"
    return line


def render(result: Result, context: RenderContext) -> str:
    lines: list[str] = []
    sections = result.sections
    if "ledger" in sections:
        lines.append(_ledger_line(sections["ledger"]))
    if "kpis" in sections:
        lines.extend(_kpi_rows(sections["kpis"], context, "  "))
        for workflow, rows in sections.get("workflow_kpis", {}).items():
            lines.append(f"  workflow {terminal(workflow)} (its own targets):")
            lines.extend(_kpi_rows(rows, context, "    "))
        lines.extend(_whole_pool_line(sections))
    findings = sort_findings(result.findings)
    if context.verbosity < 0:
        findings = [f for f in findings if f.severity is Severity.ERROR]
    if findings:
        lines.append("")
        lines.extend(_finding(finding, context) for finding in findings)
    if result.notes and context.verbosity >= 0:
        lines.append("")
        # A gate renders its notes with data in them: each note is one line.
        lines.extend(terminal(note) for note in result.notes)
    lines.append(verdict(result, context))
    return "\n".join(lines).lstrip("\n") + "\n"
