"""CG113 unstable-json: JSON blocks not in canonical key order."""

from __future__ import annotations

import json
from pathlib import Path

from tests.lint.repo import CLEAN_PROSE, findings, write_repo

TOOLS = [{"name": "read_file", "description": "Read a file.",
          "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}}]


def _repo(root: Path, tools_text: str, role: str = "tools", name: str = "p/tools.json") -> Path:
    return write_repo(root, {name: tools_text, "p/system.md": CLEAN_PROSE}, [
        {"id": "main", "blocks": [{"role": role, "file": name},
                                  {"role": "system", "file": "p/system.md",
                                   "cache_control": "1h"}]}])


def test_unsorted_keys_are_a_warning_at_the_first_object(tmp_path: Path) -> None:
    _repo(tmp_path, json.dumps(TOOLS, indent=2))
    [finding] = findings(tmp_path, rule="CG113")
    assert finding["severity"] == "warning"
    assert finding["path"] == "p/tools.json"
    assert finding["message"].startswith(
        "keys not in canonical (sorted) order at [0]: 'description' after 'name' (and 1 more "
        "object)")
    lines = (tmp_path / "p/tools.json").read_text().splitlines()
    assert '"description"' in lines[finding["line"] - 1]


def test_sorted_keys_pass(tmp_path: Path) -> None:
    _repo(tmp_path, json.dumps(TOOLS, indent=2, sort_keys=True))
    assert findings(tmp_path, rule="CG113") == []


def test_duplicate_keys_and_invalid_json(tmp_path: Path) -> None:
    _repo(tmp_path, '{"a": 1,\n "a": 2}\n')
    [finding] = findings(tmp_path, rule="CG113")
    assert finding["message"].startswith("duplicate key 'a' in the top-level object")
    assert finding["line"] == 2
    _repo(tmp_path, "[{\"a\": 1},\n oops]\n")
    [finding] = findings(tmp_path, rule="CG113")
    assert finding["message"].startswith("not valid JSON")
    assert finding["line"] == 2


def test_json_file_in_another_role_and_markdown_tools(tmp_path: Path) -> None:
    _repo(tmp_path, json.dumps({"b": 1, "a": 2}), role="system", name="p/schema.json")
    assert len(findings(tmp_path, rule="CG113")) == 1
    _repo(tmp_path, "not json, but a .md file", role="system", name="p/notes.md")
    assert findings(tmp_path, rule="CG113") == []
