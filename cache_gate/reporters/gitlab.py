"""`--format gitlab`: a GitLab Code Quality report (a JSON array of issues).

GitLab shows these in the merge request widget; `fingerprint` identifies an
issue across pipelines, so it is stable across runs and unique within a report.

`location.path` is the file's real path, for GitLab to match it with the diff; text
from input in the description is shown as in the text report (control and invisible
code points as visible escapes). JSON holds any code point but a lone surrogate (an
undecodable byte of a file name): not valid UTF-8, it would stop the report from being
written at all, so it is shown as a visible escape (`\\udcff`) even in a path.
"""

from __future__ import annotations

import hashlib
import json
import re

from cache_gate.findings import Result, Severity, sort_findings
from cache_gate.reporters import RenderContext
from cache_gate.reporters.locations import repository_path
from cache_gate.reporters.neutralise import terminal

SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}
_SURROGATE = re.compile("[\ud800-\udfff]")


def _encodable(text: str) -> str:
    """`text` with each lone surrogate as a visible escape: what UTF-8 can carry."""
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def issues(result: Result) -> list[dict[str, object]]:
    seen: dict[str, int] = {}
    report: list[dict[str, object]] = []
    for finding in sort_findings(result.findings):
        fingerprint = finding.fingerprint
        repeat = seen.get(fingerprint, 0)
        seen[fingerprint] = repeat + 1
        if repeat:  # the same finding twice (e.g. two identical lines): still unique
            fingerprint = hashlib.sha256(f"{fingerprint}:{repeat}".encode()).hexdigest()[:32]
        description = terminal(finding.message)
        if finding.prompt_id:
            description = f"[prompt {terminal(finding.prompt_id)}] {description}"
        report.append({
            "description": description,
            "check_name": f"{finding.rule} {finding.name}",
            "fingerprint": fingerprint,
            "severity": SEVERITIES[finding.severity],
            "location": {"path": _encodable(repository_path(finding.path) or "."),
                         "lines": {"begin": finding.line or 1}},
            "categories": ["Performance"],
            "content": {"body": terminal(finding.hint or "")},
        })
    return report


def render(result: Result, context: RenderContext) -> str:
    del context
    return json.dumps(issues(result), indent=2, ensure_ascii=False) + "\n"
