"""cache-gate lint on real prompt files nobody on this team wrote (read in place, never
copied): the backlog-agents templates the runbook comes from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests import consumers
from tests.lint.repo import lint_json

REALWORLD = consumers.REALWORLD / "backlog-agents"
TEMPLATES = "skills/backlog-implementer/templates"


@pytest.fixture(autouse=True)
def _real_world_files() -> None:
    consumers.shared_path(f"realworld/backlog-agents/{TEMPLATES}")


def _lint(tmp_path: Path, *prompts: dict[str, Any]) -> list[dict[str, Any]]:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"version": 1, "prompts": list(prompts)}))
    code, report = lint_json(tmp_path, "--manifest", str(manifest), "--root", str(REALWORLD))
    assert code in (0, 1)
    found: list[dict[str, Any]] = report["findings"]
    return found


def _where(found: list[dict[str, Any]]) -> list[tuple[str, int | None]]:
    return [(f["rule"], f["line"]) for f in found]


def test_implementer_prefix_is_clean_but_too_short_for_haiku(tmp_path: Path) -> None:
    # Box drawing, arrows, em dashes and the scales emoji with its variation
    # selector: none of it is a hazard.
    block = {"role": "system", "file": f"{TEMPLATES}/implementer-prefix.md",
             "cache_control": "1h"}
    found = _lint(tmp_path, {"id": "implementer", "model": "claude-haiku-4-5",
                             "blocks": [block]})
    [finding] = found
    assert finding["rule"] == "CG109"
    assert "below claude-haiku-4-5's minimum of 4,096" in finding["message"]
    assert _lint(tmp_path, {"id": "implementer", "model": "claude-sonnet-4-5",
                            "blocks": [block]}) == []


def test_reviewer_output_format_is_literal_when_verbatim(tmp_path: Path) -> None:
    prefix = {"file": f"{TEMPLATES}/reviewer-prefix.md"}
    found = _lint(tmp_path, {"id": "reviewer", "model": "claude-sonnet-4-5",
                             "stable_prefix": [prefix]})
    # The "Output Format" section's {focus_type}, {title}, {path}:{line}, {N}...
    assert _where(found) == [("CG103", 57), ("CG103", 59), ("CG103", 62), ("CG103", 67),
                             ("CG109", 1)]
    # ({0-100}, {what's wrong and why} and {1-2 sentences} are not placeholders.)
    assert not any("0-100" in f["message"] or "wrong" in f["message"] for f in found)
    found = _lint(tmp_path, {"id": "reviewer", "model": "claude-sonnet-4-5",
                             "stable_prefix": [{**prefix, "verbatim": True}]})
    assert _where(found) == [("CG109", 1)]  # ≈660 tokens: Sonnet caches from 1,024


def test_fast_path_template_is_not_a_stable_prefix(tmp_path: Path) -> None:
    found = _lint(tmp_path, {"id": "fast-path", "model": "claude-sonnet-4-5",
                             "stable_prefix": f"{TEMPLATES}/fast-path-agent.md"})
    placeholders = [f for f in found if f["rule"] == "CG103"]
    assert [f["line"] for f in placeholders] == [3, 6, 9, 12, 15, 16, 17, 22, 27, 29, 32, 38,
                                                  43, 44]
    assert "{TICKET_ID}" in placeholders[0]["message"]
    assert "{type}, {area}, {description}, {TICKET_ID}" in placeholders[-1]["message"]
    assert {f["rule"] for f in found} == {"CG103", "CG109"}  # "v10.0" is no date


def test_config_preset_as_a_json_block(tmp_path: Path) -> None:
    found = _lint(tmp_path, {"id": "config", "model": "claude-sonnet-4-5", "blocks": [
        {"role": "tools", "file": "config/presets/default.json"},
        {"role": "system", "file": f"{TEMPLATES}/implementer-prefix.md", "cache_control": "5m"},
    ]})
    [finding] = found
    assert (finding["rule"], finding["severity"], finding["line"]) == ("CG113", "warning", 3)
    assert "'project' after 'version'" in finding["message"]
    # http://localhost:8000 and 127.0.0.1-style gateway URLs are the same everywhere.
    assert all(f["rule"] != "CG106" for f in found)


def test_repository_paths_are_read_only(tmp_path: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in (REALWORLD / TEMPLATES).iterdir()}
    _lint(tmp_path, {"id": "a", "stable_prefix": f"{TEMPLATES}/fast-path-agent.md"})
    assert {p: p.stat().st_mtime_ns for p in (REALWORLD / TEMPLATES).iterdir()} == before
    assert not (REALWORLD / ".backlog-ops").exists()
