"""`--format sarif`: SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

Every rule that produced a finding is described in `tool.driver.rules` (short and
full description, help with the fix); locations are repository-relative URIs
under %SRCROOT%, so the upload maps them onto the checkout.
"""

from __future__ import annotations

import json

from cache_gate import __version__, rules
from cache_gate.findings import Result, Severity, sort_findings
from cache_gate.reporters import RenderContext
from cache_gate.reporters.locations import repository_path

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _rule(rule_id: str) -> dict[str, object]:
    info = rules.get(rule_id)
    return {
        "id": info.id,
        "name": info.name,
        "shortDescription": {"text": info.name.replace("-", " ")},
        "fullDescription": {"text": info.summary},
        "help": {"text": f"{info.summary} Fix: {info.fix}",
                 "markdown": f"{info.summary}\n\n**Fix:** {info.fix}"},
        "defaultConfiguration": {"level": LEVELS[info.severity]},
        "properties": {"tags": ["prompt-caching"]},
    }


def document(result: Result) -> dict[str, object]:
    findings = sort_findings(result.findings)
    rule_ids = sorted({finding.rule for finding in findings})
    index = {rule_id: position for position, rule_id in enumerate(rule_ids)}
    results = []
    for finding in findings:
        entry: dict[str, object] = {
            "ruleId": finding.rule,
            "ruleIndex": index[finding.rule],
            "level": LEVELS[finding.severity],
            "message": {"text": finding.message + (f" Fix: {finding.hint}" if finding.hint
                                                   else "")},
            "partialFingerprints": {"cacheGate/v1": finding.fingerprint},
        }
        path = repository_path(finding.path)
        if path:
            location: dict[str, object] = {
                "artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"}}
            if finding.line:
                location["region"] = {"startLine": finding.line}
            entry["locations"] = [{"physicalLocation": location}]
        if finding.prompt_id:
            entry["properties"] = {"promptId": finding.prompt_id}
        results.append(entry)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "cache-gate", "version": __version__,
                                "semanticVersion": __version__,
                                "rules": [_rule(rule_id) for rule_id in rule_ids]}},
            "automationDetails": {"id": f"cache-gate/{result.command}/"},
            "results": results,
        }],
    }


def render(result: Result, context: RenderContext) -> str:
    del context
    return json.dumps(document(result), indent=2, ensure_ascii=False) + "\n"
