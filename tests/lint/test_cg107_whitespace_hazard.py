"""CG107 whitespace-hazard: invisible bytes that drift between machines and tools."""

from __future__ import annotations

from pathlib import Path

import pytest

from cache_gate.rules.cg107_whitespace_hazard import check_text
from tests.lint.repo import CLEAN_PROSE, findings, one_file_prompt, text_problems, write_repo


@pytest.mark.parametrize(("text", "message", "severity", "line"), [
    ("a\r\nb\r\n", "CRLF line endings", None, 1),
    ("a\nb\r\nc\n", "mixed line endings: CRLF here, LF on 2 other lines", None, 2),
    ("a\rb", "carriage return without a line feed", None, 1),
    ("\ufeffhello\n", "UTF-8 byte order mark (BOM)", None, 1),
    ("zero\u200bwidth\n", "invisible character U+200B ZERO WIDTH SPACE", None, 1),
    ("x\n\u2060join\n", "invisible character U+2060 WORD JOINER", None, 2),
    ("soft\u00adhyphen", "invisible character U+00AD SOFT HYPHEN", None, 1),
    ("bidi \u202e x", "invisible character U+202E RIGHT-TO-LEFT OVERRIDE", None, 1),
    ("mid \ufeff text", "invisible character U+FEFF ZERO WIDTH NO-BREAK SPACE", None, 1),
    ("bell \x07", "invisible character U+0007", None, 1),
    ("para\u2029graph", "invisible character U+2029 PARAGRAPH SEPARATOR", None, 1),
    ("tag \U000e0041\U000e0042", "invisible character U+E0041", None, 1),
    ("ascii x\ufe0f", "invisible character U+FE0F VARIATION SELECTOR-16", None, 1),
    ("ab\u200dcd", "invisible character U+200D ZERO WIDTH JOINER", None, 1),
    ("trail  \nok\n", "trailing whitespace", "warning", 1),
    ("ok\n \t mixed\n", "indentation mixes tabs and spaces", "warning", 2),
    ("  a\n  b\n\tc\n", "indented differently from the rest of the file (spaces)", "warning", 3),
    ("cafe\u0301\n", "text not in Unicode NFC form", "warning", 1),
])
def test_finds_hazards(text: str, message: str, severity: str | None, line: int) -> None:
    problems = text_problems(check_text, text)
    assert problems, text
    first = problems[0]
    assert first.message.startswith(message)
    assert (first.severity.value if first.severity else None) == severity
    assert first.line == line


@pytest.mark.parametrize("text", [
    "Plain ASCII text.\nTwo lines.\n",
    "Scales \u2696\ufe0f, keycap 1\ufe0f\u20e3, heart \u2764\ufe0f.\n",
    "Family \U0001f468\u200d\U0001f469\u200d\U0001f467 emoji sequence.\n",
    "Flag \U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f.\n",
    "Persian \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 needs its joiner.\n",
    "Precomposed caf\u00e9, CJK \u6f22\u5b57, em dash \u2014.\n",
    "\tall\n\ttabs\n",
    "No final newline",
])
def test_legitimate_text_is_not_a_hazard(text: str) -> None:
    assert text_problems(check_text, text) == []


def test_repeats_in_one_file_are_one_finding(tmp_path: Path) -> None:
    text = CLEAN_PROSE.replace("\n", "\r\n")
    write_repo(tmp_path, {"prompts/system.md": text}, [one_file_prompt()])
    [finding] = findings(tmp_path, rule="CG107")
    assert finding["line"] == 1
    assert finding["severity"] == "error"
    assert "(60 lines: 1, 2, 3, 4, 5, …)" in finding["message"]
    assert "--fix" in finding["hint"]


def test_suppressed_lines_are_left_out_of_the_count(tmp_path: Path) -> None:
    text = "first  \nsecond  <!-- cache-gate: ignore[CG107] -->  \nthird  \n" + CLEAN_PROSE
    write_repo(tmp_path, {"prompts/system.md": text}, [one_file_prompt()])
    [finding] = findings(tmp_path, rule="CG107")
    assert finding["line"] == 1
    assert "(2 lines: 1, 3)" in finding["message"]
