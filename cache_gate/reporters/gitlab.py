"""`--format gitlab`: a GitLab Code Quality report (a JSON array of issues).

GitLab shows these in the merge request widget; `fingerprint` identifies an
issue across pipelines, so it is stable across runs and unique within a report.
"""

from __future__ import annotations

import hashlib
import json

from cache_gate.findings import Result, Severity, sort_findings
from cache_gate.reporters import RenderContext
from cache_gate.reporters.locations import repository_path

SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def issues(result: Result) -> list[dict[str, object]]:
    seen: dict[str, int] = {}
    report: list[dict[str, object]] = []
    for finding in sort_findings(result.findings):
        fingerprint = finding.fingerprint
        repeat = seen.get(fingerprint, 0)
        seen[fingerprint] = repeat + 1
        if repeat:  # the same finding twice (e.g. two identical lines): still unique
            fingerprint = hashlib.sha256(f"{fingerprint}:{repeat}".encode()).hexdigest()[:32]
        description = finding.message
        if finding.prompt_id:
            description = f"[prompt {finding.prompt_id}] {description}"
        report.append({
            "description": description,
            "check_name": f"{finding.rule} {finding.name}",
            "fingerprint": fingerprint,
            "severity": SEVERITIES[finding.severity],
            "location": {"path": repository_path(finding.path) or ".",
                         "lines": {"begin": finding.line or 1}},
            "categories": ["Performance"],
            "content": {"body": finding.hint or ""},
        })
    return report


def render(result: Result, context: RenderContext) -> str:
    del context
    return json.dumps(issues(result), indent=2, ensure_ascii=False) + "\n"
