"""Loading the manifest: schema (CG100 at JSON paths), both forms, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cache_gate.manifest.repository import MAX_PROMPT_FILE_BYTES
from cache_gate.manifest.schema import manifest_schema
from tests.lint.repo import (
    CLEAN_PROSE,
    MANIFEST,
    findings,
    lint,
    lint_json,
    one_file_prompt,
    write_repo,
)


def _write_manifest(root: Path, text: str) -> None:
    (root / ".backlog-ops").mkdir(exist_ok=True)
    (root / MANIFEST).write_text(text, encoding="utf-8")


def _messages(root: Path) -> list[str]:
    return [f["message"] for f in findings(root, rule="CG100")]


def test_schema_ships_in_the_package_and_is_valid() -> None:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(manifest_schema())


@pytest.mark.parametrize(("prompt", "message"), [
    ({"id": "a", "blocks": [{"file": "p.md", "cache-control": "1h"}]},
     "prompts[0].blocks[0].cache-control: unknown key 'cache-control' (did you mean "
     "'cache_control'?)"),
    ({"id": "a", "blocks": [{"file": "p.md", "cache_control": "ephemeral"}]},
     'prompts[0].blocks[0].cache_control: "cache_control" is "5m" or "1h"'),
    ({"id": "a", "blocks": [{"file": "p.md", "text": "x", "cache_control": "5m"}]},
     'prompts[0].blocks[0]: a block holds exactly one of "file", "text" or "glob"'),
    ({"id": "a", "blocks": [{"cache_control": "5m"}]},
     'prompts[0].blocks[0]: a block holds exactly one of "file", "text" or "glob"'),
    ({"id": "a", "blocks": [{"file": 5, "cache_control": "5m"}]},
     "prompts[0].blocks[0].file: must be a string, got 5"),
    ({"id": "a", "blocks": [{"file": "p.md", "dynamic": "yes"}]},
     'prompts[0].blocks[0].dynamic: must be true or false, got "yes"'),
    ({"id": "a", "blocks": [{"file": "p.md", "order": "lexical", "cache_control": "5m"}]},
     'prompts[0].blocks[0]: "order" goes with "glob"'),
    ({"id": "a"}, 'prompts[0]: a prompt needs "blocks" or the short form "stable_prefix"'),
    ({"id": "a", "blocks": [{"file": "p.md"}], "stable_prefix": "p.md"},
     'prompts[0]: use either "blocks" or "stable_prefix"/"dynamic_suffix", not both'),
    ({"id": "a", "stable_prefix": [{"file": "p.md"}, "x"]},
     "prompts[0].stable_prefix[1]: must be an object, got \"x\""),
    ({"id": "a", "stable_prefix": "p.md", "render": {"command": "python render.py"}},
     'prompts[0].render.command: "render.command" is an argument list'),
    ({"id": "a", "stable_prefix": "p.md", "ignore": ["CG1O1"]},
     'prompts[0].ignore[0]: "ignore" lists rule IDs such as "CG109"'),
    ({"id": " a", "stable_prefix": "p.md"},
     "prompts[0].id: a prompt id is a non-empty string without leading or trailing spaces"),
    ({"stable_prefix": "p.md"}, "prompts[0]: missing required key 'id'"),
])
def test_schema_violations_point_at_the_json_path(tmp_path: Path, prompt: dict[str, object],
                                                  message: str) -> None:
    write_repo(tmp_path, {"p.md": CLEAN_PROSE}, [prompt])
    code, report = lint_json(tmp_path)
    assert code == 1
    found = [f for f in report["findings"] if f["rule"] == "CG100"]
    assert any(f["message"].startswith(message) for f in found), found
    manifest = (tmp_path / MANIFEST).read_text().splitlines()
    for finding in found:
        assert finding["path"] == MANIFEST
        assert 1 <= finding["line"] <= len(manifest)


def test_invalid_prompts_do_not_stop_the_valid_ones(tmp_path: Path) -> None:
    write_repo(tmp_path, {"p.md": CLEAN_PROSE + "{placeholder}\n"}, [
        {"id": "broken", "blocks": [{"file": "p.md", "cache_control": "2h"}]},
        {"id": "good", "stable_prefix": [{"file": "p.md"}]},
    ])
    _, report = lint_json(tmp_path)
    rules = sorted((f["rule"], f["prompt_id"]) for f in report["findings"])
    assert rules == [("CG100", "broken"), ("CG103", "good")]


def test_top_level_problems(tmp_path: Path) -> None:
    _write_manifest(tmp_path, json.dumps({"version": 2, "prompt": []}))
    messages = _messages(tmp_path)
    assert "version: \"version\" must be 1 (the only manifest version), got 2" in messages
    assert any(m.startswith("prompt: unknown key 'prompt' (did you mean 'prompts'?)")
               for m in messages)
    assert "(top level): missing required key 'prompts'" in messages


def test_short_form_list_and_plain_string(tmp_path: Path) -> None:
    write_repo(tmp_path, {"p/system.md": CLEAN_PROSE, "p/ticket.md": "{ticket}\n"}, [
        {"id": "listed", "stable_prefix": [{"file": "p/system.md"}],
         "dynamic_suffix": [{"file": "p/ticket.md"}]},
        {"id": "older", "stable_prefix": "p/system.md", "dynamic_suffix": "p/ticket.md"},
    ])
    code, report = lint_json(tmp_path, "--update-lock")
    assert (code, report["findings"]) == (0, [])
    lock = json.loads((tmp_path / ".backlog-ops/prompt-manifest.lock.json").read_text())
    listed, older = lock["prompts"]["listed"], lock["prompts"]["older"]
    assert listed["sha256"] == older["sha256"]
    assert listed["blocks"][0]["cache_control"] == "5m"  # the implied breakpoint
    assert len(listed["blocks"]) == 1  # the dynamic suffix is not locked


def test_plain_string_that_is_not_a_file_explains_the_older_form(tmp_path: Path) -> None:
    write_repo(tmp_path, {}, [{"id": "a", "stable_prefix": "You are a helpful reviewer"}])
    [finding] = findings(tmp_path, rule="CG100")
    assert finding["message"] == ("prompts[0].stable_prefix: 'You are a helpful reviewer' "
                                  "does not exist")
    assert "read as a file path" in finding["hint"]


def test_duplicate_ids_and_render_order(tmp_path: Path) -> None:
    write_repo(tmp_path, {"p.md": CLEAN_PROSE, "t.json": "[]"}, [
        {"id": "a", "stable_prefix": "p.md"},
        {"id": "a", "stable_prefix": "p.md"},
        {"id": "b", "blocks": [{"role": "system", "file": "p.md"},
                               {"role": "tools", "file": "t.json", "cache_control": "5m"}]},
    ])
    messages = _messages(tmp_path)
    assert any("duplicate prompt id 'a' (first at prompts[0])" in m for m in messages)
    assert any("a 'tools' block after a 'system' block" in m for m in messages)


def test_missing_directory_and_non_utf8_files(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    write_repo(tmp_path, {"latin.md": b"caf\xe9\n"}, [
        {"id": "a", "stable_prefix": [{"file": "missing.md"}]},
        {"id": "b", "stable_prefix": [{"file": "dir"}]},
        {"id": "c", "stable_prefix": [{"file": "latin.md"}]},
        {"id": "d", "stable_prefix": [{"glob": "nothing/*.md", "order": "lexical"}]},
    ])
    found = {f["prompt_id"]: f for f in findings(tmp_path, rule="CG100")}
    assert found["a"]["message"].endswith("'missing.md' does not exist")
    assert "'dir' is a directory" in found["b"]["message"]
    assert (found["c"]["path"], found["c"]["line"]) == ("latin.md", 1)
    assert "is not UTF-8 (byte 3)" in found["c"]["message"]
    assert "matches no file" in found["d"]["message"]


def test_paths_escaping_the_repository_are_refused_and_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("SECRET-CONTENT 2026-11-26 {x}\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "link.md").symlink_to(outside / "secret.md")
    (repo / "linkdir").symlink_to(outside)
    write_repo(repo, {}, [
        {"id": "a", "stable_prefix": [{"file": "../outside/secret.md"}]},
        {"id": "b", "stable_prefix": [{"file": "link.md"}]},
        {"id": "c", "stable_prefix": [{"file": str(outside / "secret.md")}]},
        {"id": "d", "stable_prefix": [{"glob": "linkdir/*.md", "order": "lexical"}]},
        {"id": "e", "stable_prefix": [{"glob": "*.md", "order": "lexical"}]},
        {"id": "f", "stable_prefix": [{"glob": "../outside/*.md", "order": "lexical"}]},
    ])
    code, out, err = lint(repo, "--format", "json")
    assert code == 1 and err == ""
    assert "SECRET" not in out and "secret" not in out.replace("outside/secret.md", "")
    report = json.loads(out)
    by_prompt = {}
    for finding in report["findings"]:
        by_prompt.setdefault(finding["prompt_id"], []).append(finding)
    assert {f["rule"] for fs in by_prompt.values() for f in fs} == {"CG100"}
    assert "leads outside the repository" in by_prompt["a"][0]["message"]
    assert "leads outside the repository" in by_prompt["b"][0]["message"]
    assert "is an absolute path" in by_prompt["c"][0]["message"]
    assert "'linkdir', a symbolic link that leads outside" in by_prompt["d"][0]["message"]
    assert "'link.md', a symbolic link that leads outside" in by_prompt["e"][0]["message"]
    assert "contains '..'" in by_prompt["f"][0]["message"]


def test_huge_and_unreadable_files(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    with big.open("wb") as handle:
        handle.truncate(MAX_PROMPT_FILE_BYTES + 1)
    (tmp_path / "loop.md").symlink_to(tmp_path / "loop.md")
    write_repo(tmp_path, {}, [{"id": "big", "stable_prefix": "big.md"},
                              {"id": "loop", "stable_prefix": "loop.md"}])
    found = {f["prompt_id"]: f["message"] for f in findings(tmp_path, rule="CG100")}
    assert "is 8.0 MiB, over the 8.0 MiB bound for a prompt file" in found["big"]
    assert "cannot be read" in found["loop"] or "outside" in found["loop"]


@pytest.mark.parametrize(("content", "expected"), [
    (None, "manifest .backlog-ops/prompt-manifest.json does not exist"),
    ('{"prompts": [', ".backlog-ops/prompt-manifest.json:1:14: manifest is not valid JSON"),
    ("\xff", "manifest is not valid JSON"),
    ("[" * 100_000, "manifest is nested too deeply to read"),
])
def test_unreadable_manifest_exits_2_with_one_line(tmp_path: Path, content: str | None,
                                                   expected: str) -> None:
    if content is not None:
        _write_manifest(tmp_path, content)
    code, out, err = lint(tmp_path)
    assert code == 2
    assert out == ""
    assert err.startswith("cache-gate: error: ") and expected in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_manifest_given_as_a_directory_and_a_bad_root(tmp_path: Path) -> None:
    code, _, err = lint(tmp_path, "--manifest", ".")
    assert code == 2 and "is a directory" in err
    write_repo(tmp_path, {"p.md": CLEAN_PROSE}, [one_file_prompt("p.md")])
    code, _, err = lint(tmp_path, "--root", "nowhere")
    assert code == 2 and "nowhere" in err


def test_root_defaults_to_the_directory_holding_backlog_ops(tmp_path: Path) -> None:
    write_repo(tmp_path, {"p.md": CLEAN_PROSE}, [one_file_prompt("p.md")])
    elsewhere = tmp_path / "sub"
    elsewhere.mkdir()
    code, out, _ = lint(elsewhere, "--manifest", f"../{MANIFEST}")
    assert code == 0, out
