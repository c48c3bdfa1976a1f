"""`--format github`: the text report plus workflow commands that GitHub Actions turns
into annotations on the pull request's diff, and a Markdown job summary.

Chosen automatically when GITHUB_ACTIONS=true and no --format is given.
"""

from __future__ import annotations

import os
from pathlib import Path

from cache_gate.findings import Finding, Result, Severity, sort_findings
from cache_gate.reporters import RenderContext, markdown, text
from cache_gate.reporters.locations import repository_path

_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(value: str) -> str:
    """A workflow command's message: %, CR and LF are escaped (GitHub's toolkit rules)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """A workflow command's property value: as data, plus ':' and ','."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    properties = []
    path = repository_path(finding.path)
    if path:
        properties.append(f"file={escape_property(path)}")
        if finding.line:
            properties.append(f"line={finding.line}")
    properties.append(f"title={escape_property(f'{finding.rule} {finding.name}')}")
    message = finding.message
    if finding.prompt_id:
        message = f"[prompt {finding.prompt_id}] {message}"
    if finding.hint:
        message += f"\nFix: {finding.hint}"
    return f"::{_COMMANDS[finding.severity]} {','.join(properties)}::{escape_data(message)}"


def render(result: Result, context: RenderContext) -> str:
    annotations = "".join(annotation(f) + "\n" for f in sort_findings(result.findings))
    return text.render(result, context) + annotations


def write_step_summary(result: Result, context: RenderContext) -> Path | None:
    """Append the Markdown summary to $GITHUB_STEP_SUMMARY, when the runner set it."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as summary:
        summary.write(markdown.render(result, context) + "\n")
    return path
