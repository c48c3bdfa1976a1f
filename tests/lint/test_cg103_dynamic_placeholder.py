"""CG103 dynamic-placeholder: template placeholders in stable blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from cache_gate.rules.cg103_dynamic_placeholder import check_text
from tests.lint.repo import CLEAN_PROSE, findings, one_file_prompt, text_problems, write_repo


@pytest.mark.parametrize(("text", "placeholder"), [
    ("Ticket {{ticket_id}}", "{{ticket_id}}"),
    ("Hi {{ user.name | upper }}", "{{ user.name | upper }}"),
    ("{{{raw_html}}}", "{{{raw_html}}}"),
    ("{% if admin %}", "{% if admin %}"),
    ("Ticket {TICKET_ID}.", "{TICKET_ID}"),
    ("Path {repo.root}", "{repo.root}"),
    ("Item {items[0]}", "{items[0]}"),
    ("Value {value!r}", "{value!r}"),
    ("Padded {name:>10}", "{name:>10}"),
    ("Home ${HOME}", "${HOME}"),
    ("Default ${mode:-fast}", "${mode:-fast}"),
    ("Old %(user)s style", "%(user)s"),
    ("ERB <%= user %>", "<%= user %>"),
    ("file prefix_{name}.md", "{name}"),
])
def test_finds_placeholders(text: str, placeholder: str) -> None:
    [problem] = text_problems(check_text, text)
    assert placeholder in problem.message


@pytest.mark.parametrize("text", [
    "An empty dict {} and a set {1, 2}.",
    "Confidence: {0-100}. Keep it to {1-2 sentences}.",
    "JSON: {\"a\": 1}. Spaced { x } braces. Brace expansion {a,b}.",
    "LaTeX \\frac{a}{b} and \\textbf{bold}.",
    "Regex quantifier a{2,3} and \\d{4}.",
    "Plain $HOME and 100%.",
])
def test_look_alikes_are_not_placeholders(text: str) -> None:
    assert text_problems(check_text, text) == []


def test_placeholders_on_one_line_are_one_problem() -> None:
    [problem] = text_problems(check_text, '"{type}({area}): {description}"\n')
    assert "placeholders {type}, {area}, {description}" in problem.message


def test_verbatim_block_braces_are_literal(tmp_path: Path) -> None:
    output_format = "## Review: {focus_type}\n- **File**: {path}:{line}\n"
    files = {"prompts/system.md": CLEAN_PROSE, "prompts/format.md": output_format}
    prompt = {"id": "main", "blocks": [
        {"file": "prompts/system.md"},
        {"file": "prompts/format.md", "verbatim": True, "cache_control": "5m"},
    ]}
    write_repo(tmp_path, files, [prompt])
    assert findings(tmp_path, rule="CG103") == []
    prompt["blocks"][1]["verbatim"] = False  # type: ignore[index]
    write_repo(tmp_path, files, [prompt])
    found = findings(tmp_path, rule="CG103")
    assert [(f["path"], f["line"]) for f in found] == [("prompts/format.md", 1),
                                                       ("prompts/format.md", 2)]


def test_placeholders_in_the_dynamic_suffix_are_fine(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/system.md": CLEAN_PROSE, "t/ticket.md": "{ticket}\n"},
               [{"id": "main", "stable_prefix": [{"file": "prompts/system.md"}],
                 "dynamic_suffix": [{"file": "t/ticket.md"}]}])
    assert findings(tmp_path, rule="CG103") == []


def test_text_blocks_are_reported_at_the_manifest_line(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/system.md": CLEAN_PROSE},
               [{"id": "main", "blocks": [{"file": "prompts/system.md"},
                                          {"text": "Answer as {persona}.",
                                           "cache_control": "5m"}]}])
    [finding] = findings(tmp_path, rule="CG103")
    assert finding["path"] == ".backlog-ops/prompt-manifest.json"
    manifest = (tmp_path / ".backlog-ops/prompt-manifest.json").read_text().splitlines()
    assert "{persona}" in manifest[finding["line"] - 1]
    assert finding["message"].startswith("prompts[0].blocks[1].text: placeholder {persona}")


def test_inline_suppression(tmp_path: Path) -> None:
    text = CLEAN_PROSE + "Ticket {id} <!-- cache-gate: ignore[CG103] -->\nUser {user}\n"
    write_repo(tmp_path, {"prompts/system.md": text}, [one_file_prompt()])
    assert [f["line"] for f in findings(tmp_path, rule="CG103")] == [62]
