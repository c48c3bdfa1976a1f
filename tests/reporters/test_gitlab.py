"""`--format gitlab` as GitLab reads it: every issue valid against the schema of GitLab's
Code Quality parser (`../shared/schemas/gitlab-code-quality.schema.json`), with the
keys and values the merge request widget uses, at the file's real path, whatever the
file is called. The template that uploads it runs for real in
tests/integrations/test_gitlab_ci.py.

Regenerate the golden file after an intended change with
    CACHE_GATE_UPDATE_GOLDEN=1 python -m pytest tests/reporters -k gitlab
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cache_gate import __version__, reporters
from cache_gate.findings import Finding, Result, Severity
from cache_gate.reporters import RenderContext
from tests import consumers
from tests.lint.repo import CLEAN_PROSE, lint, write_repo
from tests.reporters.test_reporters import sample

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = "gitlab-code-quality.schema.json"
# Legal file names on disk that are a field separator, a line break, markup or an
# escape somewhere else.
HOSTILE_NAMES = ("bell\x07.md", "cr\rlf\n.md", "pipe|tick`.md", "quote\"back\\slash.md",
                 "ümlaut é.md", "<b>&amp;.md", "tab\there.md")


def render(result: Result) -> str:
    return reporters.get("gitlab")(result, RenderContext(exit_code=1))


def valid_issues(report: str) -> list[dict[str, Any]]:
    """The report as GitLab reads it: UTF-8 JSON, an array of issues, each valid."""
    issues: list[dict[str, Any]] = json.loads(report.encode("utf-8"))
    assert isinstance(issues, list)
    for issue in issues:
        assert consumers.schema_errors(SCHEMA, issue) == [], issue
        # What the schema leaves open and GitLab's widget relies on.
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert isinstance(issue["location"]["lines"]["begin"], int)
        assert issue["location"]["lines"]["begin"] >= 1
    fingerprints = [issue["fingerprint"] for issue in issues]
    assert len(set(fingerprints)) == len(fingerprints)  # unique, even for a repeated finding
    return issues


def test_golden_output() -> None:
    golden = GOLDEN / "kpi.gitlab"
    output = render(sample()).replace(__version__, "<version>")
    if os.environ.get("CACHE_GATE_UPDATE_GOLDEN"):
        golden.write_text(output, encoding="utf-8")
    assert output == golden.read_text(encoding="utf-8")


def test_code_quality_issues() -> None:
    report = render(sample())
    assert not report.startswith("\ufeff")
    issues = valid_issues(report)
    assert [issue["check_name"] for issue in issues] == [
        "CG404 low-repetition-workload", "CG201 prompt-cache-hit-rate",
        "CG206 ledger-bad-lines", "CG101 timestamp-literal", "CG101 timestamp-literal"]
    assert issues[0]["location"] == {"path": ".", "lines": {"begin": 1}}  # no file: the root
    fingerprints = [issue["fingerprint"] for issue in issues]
    assert fingerprints == [issue["fingerprint"] for issue in valid_issues(render(sample()))]


def test_a_real_lint_run_over_hostile_file_names(tmp_path: Path) -> None:
    """Each file found by a glob on disk is reported at its real path, which GitLab
    matches with the diff; what the widget shows of input is one line."""
    root = write_repo(tmp_path / "repo", {"prompts/a.md": CLEAN_PROSE}, [
        {"id": "main", "blocks": [{"role": "system", "glob": "prompts/*.md",
                                   "order": "lexical", "cache_control": "5m"}]}])
    for name in HOSTILE_NAMES:
        (root / "prompts" / name).write_text("Released 2024-03-15.\n" + CLEAN_PROSE)
    code, _, stderr = lint(root, "--report", f"gitlab={tmp_path / 'gl.json'}")
    assert (code, stderr) == (0, "")
    issues = valid_issues((tmp_path / "gl.json").read_text(encoding="utf-8"))
    assert sorted(issue["location"]["path"] for issue in issues) == sorted(
        f"prompts/{name}" for name in HOSTILE_NAMES)


def test_an_undecodable_byte_in_a_message_is_shown_not_written_as_invalid_utf8() -> None:
    """A message naming an undecodable file (a lone surrogate in Python) could not be
    encoded as UTF-8: the whole report was lost."""
    finding = Finding("prompts", None, "CG105", "unordered-include", Severity.ERROR,
                      "prompts/caf\udce9.md and 2 more are included in no declared order",
                      key="prompts/*")
    [issue] = valid_issues(render(Result("lint", [finding])))
    assert issue["description"].startswith("prompts/caf\\udce9.md and 2 more")


def test_an_undecodable_file_name_is_reported(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo", {"prompts/a.md": CLEAN_PROSE}, [
        {"id": "main", "blocks": [{"role": "system", "glob": "prompts/*.md",
                                   "order": "lexical", "cache_control": "5m"}]}])
    (root / "prompts" / os.fsdecode(b"latin-\xe9.md")).write_text(
        "Released 2024-03-15.\n" + CLEAN_PROSE)
    code, _, stderr = lint(root, "--report", f"gitlab={tmp_path / 'gl.json'}")
    assert (code, stderr) == (0, "")
    [issue] = valid_issues((tmp_path / "gl.json").read_text(encoding="utf-8"))
    assert issue["location"]["path"] == "prompts/latin-\\udce9.md"
