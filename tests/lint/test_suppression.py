"""Suppression: ignore comments, per-prompt ignore, select/ignore in settings and CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lint.repo import CLEAN_PROSE, findings, lint, one_file_prompt, write_repo

HAZARDS = (CLEAN_PROSE
           + "Date 2024-03-15 and id 3f1c2a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f.\n"
           + "Ticket {ticket_id}.\n"
           + "Home /home/alice/x.\n")


def _rules(root: Path, *args: str) -> list[str]:
    return sorted(f["rule"] for f in findings(root, *args))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path, {"prompts/system.md": HAZARDS}, [one_file_prompt()])


def test_everything_is_reported_by_default(repo: Path) -> None:
    assert _rules(repo) == ["CG101", "CG103", "CG104", "CG106"]


def test_inline_comment_ignores_the_named_rules_on_its_line(tmp_path: Path) -> None:
    text = HAZARDS.replace("6e7f.\n", "6e7f. <!-- cache-gate: ignore[CG101, CG104] -->\n")
    assert text != HAZARDS
    write_repo(tmp_path, {"prompts/system.md": text}, [one_file_prompt()])
    assert _rules(tmp_path) == ["CG103", "CG106"]
    _, out, _ = lint(tmp_path)
    assert "2 finding(s) suppressed by `cache-gate: ignore[...]` comments" in out


def test_inline_comment_on_another_line_does_not_count(tmp_path: Path) -> None:
    text = "<!-- cache-gate: ignore[CG101] -->\n" + HAZARDS
    write_repo(tmp_path, {"prompts/system.md": text}, [one_file_prompt()])
    assert "CG101" in _rules(tmp_path)


def test_per_prompt_ignore(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/system.md": HAZARDS},
               [{**one_file_prompt(), "ignore": ["CG103", "cg106"]}])
    assert _rules(tmp_path) == ["CG101", "CG104"]


@pytest.mark.parametrize(("args", "expected"), [
    (("--select", "CG101,CG104"), ["CG101", "CG104"]),
    (("--select", "CG101", "--select", "CG103"), ["CG101", "CG103"]),
    (("--select", "timestamp-literal"), ["CG101"]),
    (("--ignore", "CG104", "--ignore", "environment-specific"), ["CG101", "CG103"]),
    (("--select", "CG10", "--ignore", "CG101"), ["CG103", "CG104", "CG106"]),
])
def test_command_line_select_and_ignore(repo: Path, args: tuple[str, ...],
                                        expected: list[str]) -> None:
    assert _rules(repo, *args) == expected


def test_settings_select_and_ignore_and_cli_precedence(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.cache-gate]\nignore = ["CG101", "CG104"]\n')
    assert _rules(repo) == ["CG103", "CG106"]
    assert _rules(repo, "--ignore", "CG106") == ["CG101", "CG103", "CG104"]  # CLI replaces
    (repo / "pyproject.toml").write_text('[tool.cache-gate]\nselect = ["CG103"]\n')
    assert _rules(repo) == ["CG103"]


@pytest.mark.parametrize("args", [("--select", "CG999"), ("--ignore", "no-such-rule"),
                                  ("--select", "C")])
def test_unknown_rules_exit_2(repo: Path, args: tuple[str, ...]) -> None:
    code, out, err = lint(repo, *args)
    assert code == 2 and out == ""
    assert "unknown rule" in err and "Traceback" not in err


def test_unknown_rule_in_settings_names_the_file(repo: Path) -> None:
    (repo / ".cache-gate.toml").write_text('ignore = ["CG9"]\n')
    code, _, err = lint(repo)
    assert code == 2 and ".cache-gate.toml" in err and "'CG9'" in err
