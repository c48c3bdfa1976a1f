"""The prompt lock: --update-lock, round trips, and drift (CG111) located by file and line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cache_gate.manifest import assemble
from cache_gate.manifest.tokens import approx
from tests.lint.repo import CLEAN_LINE, CLEAN_PROSE, LOCK, findings, lint, lint_json, write_repo

RULES = "".join(f"Rule {n}: keep the prefix stable.\n" for n in range(1, 21))


def _repo(root: Path) -> Path:
    return write_repo(root, {
        "p/tools.json": '[{"name": "read"}]\n',
        "p/system.md": CLEAN_PROSE,
        "p/rules/a.md": RULES,
        "p/rules/b.md": RULES,
    }, [{"id": "main", "blocks": [
        {"role": "tools", "file": "p/tools.json", "cache_control": "1h"},
        {"role": "system", "file": "p/system.md"},
        {"role": "system", "glob": "p/rules/*.md", "order": "lexical", "cache_control": "5m"},
        {"role": "user", "text": "the ticket", "dynamic": True},
    ]}, {"id": "other", "stable_prefix": "p/system.md"}])


def test_missing_lock_is_a_note_not_an_error(tmp_path: Path) -> None:
    _repo(tmp_path)
    code, out, _ = lint(tmp_path)
    assert code == 0
    assert "no lock at .backlog-ops/prompt-manifest.lock.json yet" in out


def test_update_lock_round_trip_is_deterministic_and_atomic(tmp_path: Path) -> None:
    _repo(tmp_path)
    code, out, _ = lint(tmp_path, "--update-lock")
    assert code == 0
    assert "wrote .backlog-ops/prompt-manifest.lock.json (2 prompts)" in out
    first = (tmp_path / LOCK).read_bytes()
    assert lint(tmp_path, "--update-lock")[0] == 0
    assert (tmp_path / LOCK).read_bytes() == first  # no timestamps: same bytes
    assert sorted(p.name for p in (tmp_path / ".backlog-ops").iterdir()) == [
        "prompt-manifest.json", "prompt-manifest.lock.json"]  # no temporary file left
    lock = json.loads(first)
    main = lock["prompts"]["main"]
    assert set(main) == {"model", "sha256", "bytes", "tokens", "blocks"}
    assert [b["source"] for b in main["blocks"]] == ["p/tools.json", "p/system.md",
                                                     "glob p/rules/*.md"]
    block = main["blocks"][1]
    assert block["bytes"] == len(CLEAN_PROSE)
    assert {"sha256", "bytes", "tokens", "parts", "cache_control"} <= set(block)
    code, report = lint_json(tmp_path)
    assert (code, report["findings"], report["lock"]["status"]) == (0, [], "matched")


def test_drift_names_the_first_differing_file_and_line(tmp_path: Path) -> None:
    _repo(tmp_path)
    lint(tmp_path, "--update-lock")
    lines = CLEAN_PROSE.splitlines(keepends=True)
    lines[6] = "You review code changes carefully.\n"
    (tmp_path / "p/system.md").write_text("".join(lines))
    code, report = lint_json(tmp_path)
    assert code == 1
    drift = [f for f in report["findings"] if f["rule"] == "CG111"]
    assert sorted((f["path"], f["line"], f["prompt_id"]) for f in drift) == [
        ("p/system.md", 7, "main"), ("p/system.md", 7, "other")]
    assert "differs from the lock from here on" in drift[0]["message"]
    # main: the change is after the 1h breakpoint on the tools block, so only the
    # system prompt and the rules are written again; other: its whole prefix.
    assert "every caller writes ≈" in drift[0]["message"]
    assert report["lock"] == {"path": ".backlog-ops/prompt-manifest.lock.json",
                              "status": "drift", "drifted": ["main", "other"]}
    assert "--update-lock" in drift[0]["hint"]


def _current_tokens(root: Path) -> list[int]:
    """Estimated tokens of main's stable blocks as they are now (from a scratch lock)."""
    lint(root, "--update-lock", "--lock", "scratch.lock.json")
    lock = json.loads((root / "scratch.lock.json").read_text())["prompts"]["main"]
    return [block["tokens"] for block in lock["blocks"]]


def test_rewritten_tokens_start_at_the_last_breakpoint_before_the_change(
        tmp_path: Path) -> None:
    _repo(tmp_path)
    lint(tmp_path, "--update-lock")
    (tmp_path / "p/rules/b.md").write_text(RULES + "Rule 21: one more.\n")
    tokens = _current_tokens(tmp_path)
    [finding] = [f for f in findings(tmp_path, rule="CG111") if f["prompt_id"] == "main"]
    assert (finding["path"], finding["line"]) == ("p/rules/b.md", 21)
    # The tools block ends with a 1h breakpoint before the change: it still hits.
    assert f"every caller writes {approx(sum(tokens[1:]))} cached tokens again" in \
        finding["message"]
    (tmp_path / "p/rules/b.md").write_text(RULES)
    (tmp_path / "p/tools.json").write_text('[{"name": "write"}]\n')
    tokens = _current_tokens(tmp_path)
    [finding] = [f for f in findings(tmp_path, rule="CG111") if f["prompt_id"] == "main"]
    assert (finding["path"], finding["line"]) == ("p/tools.json", 1)
    assert f"every caller writes {approx(sum(tokens))} cached tokens again" in \
        finding["message"]


def test_glob_gaining_a_file_is_drift_at_the_glob(tmp_path: Path) -> None:
    _repo(tmp_path)
    lint(tmp_path, "--update-lock")
    (tmp_path / "p/rules/c.md").write_text("Rule C.\n")
    [finding] = findings(tmp_path, rule="CG111")
    assert finding["path"] == ".backlog-ops/prompt-manifest.json"
    assert "p/rules/c.md is new in glob p/rules/*.md" in finding["message"]


def test_new_and_removed_prompts_are_warnings(tmp_path: Path) -> None:
    _repo(tmp_path)
    lint(tmp_path, "--update-lock")
    manifest_path = tmp_path / ".backlog-ops/prompt-manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["prompts"][1]["id"] = "renamed"
    manifest_path.write_text(json.dumps(manifest))
    code, report = lint_json(tmp_path)
    assert code == 0
    found = sorted((f["severity"], f["message"]) for f in report["findings"])
    assert found == [
        ("warning", "prompts[1].id: prompt 'renamed' is not in the lock "
                    ".backlog-ops/prompt-manifest.lock.json yet"),
        ("warning", "the lock has prompt 'other', which is no longer in the manifest"),
    ]


def test_unreadable_lock_is_an_error_and_update_lock_repairs_it(tmp_path: Path) -> None:
    _repo(tmp_path)
    (tmp_path / LOCK).write_text("<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> branch\n")
    [finding] = findings(tmp_path, rule="CG111")
    assert finding["severity"] == "error"
    assert "is not valid JSON at line 1 (a merge conflict?)" in finding["message"]
    assert lint(tmp_path, "--update-lock")[0] == 0
    assert findings(tmp_path) == []
    (tmp_path / LOCK).write_text('{"lock_version": 99, "prompts": {}}')
    [finding] = findings(tmp_path, rule="CG111")
    assert "has lock_version 99" in finding["message"]


def test_lock_option_and_prompts_with_unreadable_files_keep_their_entry(
        tmp_path: Path) -> None:
    _repo(tmp_path)
    assert lint(tmp_path, "--update-lock", "--lock", "custom.lock.json")[0] == 0
    before = json.loads((tmp_path / "custom.lock.json").read_text())
    (tmp_path / "p/system.md").unlink()
    code, out, _ = lint(tmp_path, "--update-lock", "--lock", "custom.lock.json")
    assert code == 1  # CG100: the file is gone
    assert "not updated in the lock (their files cannot be read, CG100): main, other" in out
    after = json.loads((tmp_path / "custom.lock.json").read_text())
    assert after["prompts"] == before["prompts"]


def test_line_hashes_locate_appended_lines(tmp_path: Path) -> None:
    write_repo(tmp_path, {"p.md": CLEAN_PROSE}, [{"id": "a", "stable_prefix": "p.md"}])
    lint(tmp_path, "--update-lock")
    (tmp_path / "p.md").write_text(CLEAN_PROSE + CLEAN_LINE)
    [finding] = findings(tmp_path, rule="CG111")
    assert finding["line"] == 61


@pytest.mark.parametrize("size", [0, 1, 55, 64, 1000, assemble.OWN_SHA256_BELOW - 1,
                                  assemble.OWN_SHA256_BELOW, 3 << 20])
def test_the_prompts_digest_is_hashlibs_whichever_sha256_computes_it(size: int) -> None:
    """Small inputs are hashed by CPython's own SHA-256 (OpenSSL is not loaded for
    them), large ones by hashlib's: the digests are the same."""
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert assemble.sha256_hex(data) == hashlib.sha256(data).hexdigest()


def test_without_cpythons_own_sha256_the_digest_is_hashlibs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assemble, "_own_sha256", lambda: None)
    assert assemble.sha256_hex(b"prompt") == hashlib.sha256(b"prompt").hexdigest()
