"""`lint --fix`: mechanical normalisation of stable-prefix files, atomically."""

from __future__ import annotations

import stat
from pathlib import Path

from cache_gate.rules.fix import fixed_text
from tests.lint.repo import CLEAN_PROSE, findings, lint, write_repo

DIRTY = "\ufeffTitle  \r\nzero\u200bwidth\r\nscales \u2696\ufe0f ok\r\n" + CLEAN_PROSE.replace(
    "\n", "\r\n")


def test_fix_rewrites_and_says_what_changed(tmp_path: Path) -> None:
    write_repo(tmp_path, {"p/system.md": DIRTY, "p/ticket.md": "dyn  \r\n"}, [{
        "id": "main", "stable_prefix": "p/system.md", "dynamic_suffix": "p/ticket.md"}])
    path = tmp_path / "p/system.md"
    path.chmod(0o640)
    assert [f["rule"] for f in findings(tmp_path)] == ["CG107"] * 4
    code, out, _ = lint(tmp_path, "--fix")
    assert code == 0, out
    assert ("--fix: p/system.md: removed the byte order mark; line endings to LF (63 lines); "
            "removed trailing whitespace (1 line); removed 1 invisible character (U+200B)") in out
    assert "then run `cache-gate lint --update-lock`" in out
    assert path.read_text(encoding="utf-8") == (
        "Title\nzerowidth\nscales \u2696\ufe0f ok\n" + CLEAN_PROSE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # permissions kept
    assert (tmp_path / "p/ticket.md").read_bytes() == b"dyn  \r\n"  # dynamic: untouched
    assert not [p for p in (tmp_path / "p").iterdir() if p.name.endswith(".tmp")]
    assert findings(tmp_path) == []


def test_fix_leaves_suppressed_lines_tabs_and_nfc_alone() -> None:
    text = "keep  <!-- cache-gate: ignore[CG107] -->  \nfix  \n\tindent\ncafe\u0301\n"
    fixed, changes = fixed_text(text, frozenset({1}))
    assert fixed == "keep  <!-- cache-gate: ignore[CG107] -->  \nfix\n\tindent\ncafe\u0301\n"
    assert changes == ["removed trailing whitespace (1 line)"]


def test_fix_does_nothing_when_cg107_is_off_or_clean(tmp_path: Path) -> None:
    write_repo(tmp_path, {"p/system.md": DIRTY}, [{"id": "main", "stable_prefix": "p/system.md"}])
    code, out, _ = lint(tmp_path, "--fix", "--ignore", "CG107")
    assert code == 0 and "--fix" not in out
    assert (tmp_path / "p/system.md").read_bytes() == DIRTY.encode("utf-8")


def test_fix_follows_links_inside_the_repository(tmp_path: Path) -> None:
    write_repo(tmp_path, {"p/real.md": "trailing  \n" + CLEAN_PROSE},
               [{"id": "main", "stable_prefix": "p/link.md"}])
    (tmp_path / "p/link.md").symlink_to("real.md")
    assert lint(tmp_path, "--fix")[0] == 0
    assert (tmp_path / "p/link.md").is_symlink()
    assert (tmp_path / "p/real.md").read_text().startswith("trailing\n")


def test_findings_after_fix_reflect_the_fixed_file_however_it_is_named(
        tmp_path: Path) -> None:
    write_repo(tmp_path, {"p/system.md": "x  \n" + CLEAN_PROSE},
               [{"id": "main", "stable_prefix": "./p/../p/system.md"}])
    code, out, _ = lint(tmp_path, "--fix")
    assert code == 0 and "CG107" not in out
