"""CG105 unordered-include: globs without a declared order."""

from __future__ import annotations

from pathlib import Path

from tests.lint.repo import CLEAN_PROSE, findings, write_repo

FILES = {"prompts/system.md": CLEAN_PROSE, "rules/b.md": "Rule B.\n", "rules/a.md": "Rule A.\n"}


def _prompt(**glob_block: object) -> dict[str, object]:
    return {"id": "main", "blocks": [
        {"file": "prompts/system.md"},
        {"glob": "rules/*.md", "cache_control": "1h", **glob_block},
    ]}


def test_glob_without_order_is_an_error_at_the_glob(tmp_path: Path) -> None:
    write_repo(tmp_path, FILES, [_prompt()])
    [finding] = findings(tmp_path, rule="CG105")
    assert finding["severity"] == "error"
    assert finding["message"].startswith("prompts[0].blocks[1].glob: glob 'rules/*.md' (2 files)")
    manifest = (tmp_path / ".backlog-ops/prompt-manifest.json").read_text().splitlines()
    assert '"glob": "rules/*.md"' in manifest[finding["line"] - 1]
    assert '"order": "lexical"' in finding["hint"]


def test_declared_order_passes_and_files_are_joined_lexically(tmp_path: Path) -> None:
    write_repo(tmp_path, FILES, [_prompt(order="lexical")])
    assert findings(tmp_path, rule="CG105") == []
    from tests.lint.repo import lint_json

    _, report = lint_json(tmp_path, "--update-lock")
    assert report["findings"] == []
    import json

    lock = json.loads((tmp_path / ".backlog-ops/prompt-manifest.lock.json").read_text())
    sources = [p["source"] for p in lock["prompts"]["main"]["blocks"][1]["parts"]]
    assert sources == ["rules/a.md", "rules/b.md"]


def test_globs_after_the_last_breakpoint_are_not_checked(tmp_path: Path) -> None:
    write_repo(tmp_path, FILES, [{"id": "main", "blocks": [
        {"file": "prompts/system.md", "cache_control": "5m"},
        {"glob": "rules/*.md", "dynamic": True},
    ]}])
    assert findings(tmp_path, rule="CG105") == []
