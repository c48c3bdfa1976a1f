"""CG108 dynamic-before-stable: dynamic blocks before the last breakpoint."""

from __future__ import annotations

from pathlib import Path

from tests.lint.repo import CLEAN_PROSE, findings, write_repo

FILES = {"prompts/system.md": CLEAN_PROSE, "t/ticket.md": "The ticket.\n",
         "prompts/tail.md": "Follow the rules.\n"}


def test_dynamic_block_inside_the_stable_prefix(tmp_path: Path) -> None:
    write_repo(tmp_path, FILES, [{"id": "main", "blocks": [
        {"role": "system", "file": "prompts/system.md"},
        {"role": "user", "file": "t/ticket.md", "dynamic": True},
        {"role": "user", "file": "prompts/tail.md", "cache_control": "5m"},
    ]}])
    [finding] = findings(tmp_path, rule="CG108")
    assert finding["severity"] == "error"
    assert finding["message"].startswith(
        "prompts[0].blocks[1]: dynamic block (t/ticket.md) inside the stable prefix (the "
        "last breakpoint is after prompts[0].blocks[2])")
    assert "the whole stable prefix, ≈" in finding["message"]
    assert "tokens, is written to the cache on every call and never read" in finding["message"]


def test_an_earlier_breakpoint_still_saves_what_is_before_it(tmp_path: Path) -> None:
    write_repo(tmp_path, FILES, [{"id": "main", "blocks": [
        {"role": "system", "file": "prompts/system.md", "cache_control": "1h"},
        {"role": "user", "file": "t/ticket.md", "dynamic": True},
        {"role": "user", "file": "prompts/tail.md", "cache_control": "5m"},
    ]}])
    [finding] = findings(tmp_path, rule="CG108")
    # Only the ticket and the tail are wasted: a handful of tokens, not the system prompt.
    assert "from prompts[0].blocks[1] to the last breakpoint, ≈" in finding["message"]
    wasted = int(finding["message"].split("≈")[1].split(" ")[0].replace(",", ""))
    assert wasted < 20


def test_dynamic_block_carrying_the_breakpoint(tmp_path: Path) -> None:
    write_repo(tmp_path, FILES, [{"id": "main", "blocks": [
        {"file": "prompts/system.md"},
        {"file": "t/ticket.md", "dynamic": True, "cache_control": "5m"},
    ]}])
    [finding] = findings(tmp_path, rule="CG108")
    assert "it carries the last breakpoint" in finding["message"]


def test_dynamic_inside_short_form_stable_prefix(tmp_path: Path) -> None:
    write_repo(tmp_path, FILES, [{"id": "main", "stable_prefix": [
        {"file": "prompts/system.md"}, {"file": "t/ticket.md", "dynamic": True},
        {"file": "prompts/tail.md"}]}])
    [finding] = findings(tmp_path, rule="CG108")
    assert finding["message"].startswith("prompts[0].stable_prefix[1]: dynamic block")


def test_dynamic_after_the_breakpoint_is_the_right_layout(tmp_path: Path) -> None:
    write_repo(tmp_path, FILES, [{"id": "main", "blocks": [
        {"file": "prompts/system.md", "cache_control": "5m"},
        {"file": "t/ticket.md", "dynamic": True},
    ]}])
    assert findings(tmp_path, rule="CG108") == []
