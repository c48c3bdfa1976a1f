"""`--format json`: one object, the report contract of DESIGN.md."""

from __future__ import annotations

import json

from cache_gate import __version__
from cache_gate.findings import Result, sort_findings
from cache_gate.reporters import RenderContext


def document(result: Result, context: RenderContext) -> dict[str, object]:
    return {
        "tool": "cache-gate",
        "version": __version__,
        "command": result.command,
        "passed": result.passed,
        "exit_code": context.exit_code,
        "findings": [finding.to_json() for finding in sort_findings(result.findings)],
        **result.sections,
    }


def render(result: Result, context: RenderContext) -> str:
    return json.dumps(document(result, context), indent=2, ensure_ascii=False) + "\n"
