"""`--format sarif`: SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

Every rule that produced a finding is described in `tool.driver.rules` (short and
full description, help with the fix); locations are repository-relative URIs
under %SRCROOT%, so the upload maps them onto the checkout.

What GitHub code scanning (and github/codeql-action's upload-sarif) requires, and
how this reporter meets it:

- Every result has a location: one result without `locations` makes code scanning
  reject the whole file ("locationFromSarifResult: expected at least one location").
  The gates place every finding at a repository file; a finding that still has none
  is placed at `NO_FILE`, the placeholder OSSF Scorecard uses for repository-level
  alerts, which GitHub shows and scripts around code scanning already recognise.
- URIs are RFC 3986 references: each path segment is percent-encoded (a space, `%`,
  `#`, `?`, `:` or non-ASCII would otherwise make an invalid or different URI;
  upload-sarif's `decodeURIComponent` throws on a bare `%` and skips the result).
- At most `MAX_RESULTS` results per run, errors first; what did not fit is said
  in `invocations[0].toolExecutionNotifications`.
- Fingerprints: GitHub matches alerts across runs on `primaryLocationLineHash`,
  which upload-sarif computes from the file's text at `region.startLine`. A finding
  with a line of its own gets GitHub's hash (it follows the line when it moves). A
  finding about a whole file (a KPI about the ledger, a coverage gap in the manifest)
  is put at line 1, where every such finding of a file would get the same hash and
  be merged into one alert: those carry a hash of cache-gate's own fingerprint
  (upload-sarif keeps a hash it finds and logs that it differs from line 1's).
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from urllib.parse import quote

from cache_gate import __version__, rules
from cache_gate.findings import Cut, Finding, Result, Severity, cut
from cache_gate.reporters import RenderContext
from cache_gate.reporters.locations import repository_path

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
SOURCE_ROOT = "%SRCROOT%"
# GitHub code scanning rejects a run with more results than this.
MAX_RESULTS = 25_000
# OSSF Scorecard's location for a finding about the repository, not one of its files.
NO_FILE = "no file associated with this alert"


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


def artifact_location(path: str | None) -> dict[str, str]:
    """A SARIF artifactLocation: a percent-encoded URI relative to %SRCROOT%, or an
    absolute `file:` URI for a file outside the repository."""
    shown = repository_path(path) or NO_FILE
    if PurePosixPath(shown).is_absolute():
        return {"uri": PurePosixPath(shown).as_uri()}
    # `/` separates segments and stays; everything but RFC 3986's unreserved
    # characters is encoded, `:` too (a colon in the first segment reads as a scheme).
    # An undecodable file name is its bytes, percent-encoded (surrogateescape).
    return {"uri": quote(shown.encode("utf-8", "surrogateescape"), safe="/"),
            "uriBaseId": SOURCE_ROOT}


def _line_hash(finding: Finding, seen: dict[str, int]) -> str:
    """`primaryLocationLineHash` in upload-sarif's shape (`hash:occurrence`), from
    cache-gate's fingerprint, for a finding about a whole file."""
    digest = finding.fingerprint[:16]
    seen[digest] = seen.get(digest, 0) + 1
    return f"{digest}:{seen[digest]}"


def _result(finding: Finding, index: dict[str, int], seen: dict[str, int]) -> dict[str, object]:
    fingerprints = {"cacheGate/v1": finding.fingerprint}
    if finding.line is None:
        fingerprints["primaryLocationLineHash"] = _line_hash(finding, seen)
    entry: dict[str, object] = {
        "ruleId": finding.rule,
        "ruleIndex": index[finding.rule],
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message + (f" Fix: {finding.hint}" if finding.hint
                                               else "")},
        "locations": [{"physicalLocation": {
            "artifactLocation": artifact_location(finding.path),
            # GitHub requires a start line; a finding about a whole file starts at 1.
            "region": {"startLine": finding.line or 1},
        }}],
        "partialFingerprints": fingerprints,
    }
    if finding.prompt_id:
        entry["properties"] = {"promptId": finding.prompt_id}
    return entry


def _invocation(result: Result, shown: Cut) -> dict[str, object]:
    notifications: list[dict[str, object]] = [
        {"level": "error", "message": {"text": f"could not decide: {reason}"}}
        for reason in result.undecided]
    if shown.left_out_total:
        notifications.append({"level": "warning", "message": {"text": (
            f"{shown.left_out_total:,} findings left out ({shown.describe_left_out()}): "
            f"GitHub code scanning takes at most {MAX_RESULTS:,} results per run, so "
            "the most severe are here; --format json lists them all")}})
    invocation: dict[str, object] = {"executionSuccessful": not result.undecided}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation


def document(result: Result) -> dict[str, object]:
    shown = cut(result.findings, MAX_RESULTS)
    rule_ids = sorted({finding.rule for finding in shown.shown})
    index = {rule_id: position for position, rule_id in enumerate(rule_ids)}
    seen: dict[str, int] = {}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "cache-gate", "version": __version__,
                                "semanticVersion": __version__,
                                "rules": [_rule(rule_id) for rule_id in rule_ids]}},
            "automationDetails": {"id": f"cache-gate/{result.command}/"},
            "originalUriBaseIds": {SOURCE_ROOT: {"description": {
                "text": "The root of the repository checked: every location but a "
                        "file outside it is relative to this."}}},
            "invocations": [_invocation(result, shown)],
            "results": [_result(finding, index, seen) for finding in shown.shown],
        }],
    }


def render(result: Result, context: RenderContext) -> str:
    del context
    return json.dumps(document(result), indent=2, ensure_ascii=False) + "\n"
