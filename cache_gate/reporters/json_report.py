"""`--format json`: one object, the report contract of DESIGN.md."""

from __future__ import annotations

import json
import math

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


def strict(value: object) -> object:
    """`value` as strict JSON takes it: a number that is not finite (a config's `.nan`,
    a price of `inf`) is null, and a value JSON has no type for (a YAML date) is its
    text. Python's json module would print bare NaN, which no JSON parser accepts."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): strict(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strict(item) for item in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def render(result: Result, context: RenderContext) -> str:
    return json.dumps(strict(document(result, context)), indent=2, ensure_ascii=False,
                      allow_nan=False) + "\n"
