"""CG101 timestamp-literal: dates and times in a stable prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from cache_gate.rules.cg101_timestamp_literal import check_text
from tests.lint.repo import CLEAN_PROSE, findings, one_file_prompt, text_problems, write_repo

TODAY = "2026-11-26"


@pytest.mark.parametrize(("text", "literal", "severity"), [
    ("Generated on 2026-11-26 by the builder.", "2026-11-26", "error"),
    ("Built 2026-11-26T09:30:00Z.", "2026-11-26T09:30:00Z", "error"),
    ("Stamp 20261126T093000Z", "20261126T093000Z", "error"),
    ("Date: Thu, 26 Nov 2026 09:30:00 +0000", "Thu, 26 Nov 2026 09:30:00 +0000", "error"),
    ("As of November 26, 2026, the rules are:", "November 26, 2026", "error"),
    ("Thursday, 26th of November 2026", "Thursday, 26th of November 2026", "error"),
    ("Today: 11/26/2026", "11/26/2026", "error"),
    ("Heute: 26.11.2026", "26.11.2026", "error"),
    ("Example: 2024-03-15", "2024-03-15", "warning"),
    ("Released on Mar 3 2024.", "Mar 3 2024", "warning"),
    ("Written 15 January 2024", "15 January 2024", "warning"),
    ("Numbers: 2024/01/15", "2024/01/15", "warning"),
    ("Runs at 09:30:00 daily", "09:30:00", "warning"),
    ("Standup is at 9:30 pm", "9:30 pm", "warning"),
    ("Deploys at 14:00 UTC", "14:00 UTC", "warning"),
])
def test_finds_dates_and_times(text: str, literal: str, severity: str) -> None:
    [problem] = text_problems(check_text, text, today=TODAY)
    assert f"'{literal}'" in problem.message
    assert problem.severity.value == severity
    assert problem.line == 1


@pytest.mark.parametrize("text", [
    "Version v10.0 of the template, release 2025.11.26 (CalVer).",
    "Model gpt-4o-2024-08-06 and claude-haiku-4-5-20251001.",
    "Logs go to logs/2024-01-15.log.",
    "Score 70-89: likely issue. 1-2 sentences. 90-100: definite.",
    "Knowledge cut-off: January 2025.",
    "Aspect ratio 16:9, John 3:16, at 12:30 we eat.",
    "Not a date: 2025-02-30, nor 13/13/2025.",
    "Version 1.2.2024 of the library.",
])
def test_look_alikes_are_not_dates(text: str) -> None:
    assert text_problems(check_text, text, today=TODAY) == []


def test_render_output_dates_are_errors_even_when_fixed() -> None:
    [problem] = text_problems(check_text, "Example 2024-03-15", rendered=True, today=TODAY)
    assert problem.severity.value == "error"
    assert "render output" in problem.message


def test_reported_at_file_line_with_prompt_and_hint(tmp_path: Path) -> None:
    text = CLEAN_PROSE + "Dates look like 2024-03-15.\n"
    write_repo(tmp_path, {"prompts/system.md": text}, [one_file_prompt()])
    [finding] = findings(tmp_path, rule="CG101")
    assert finding["path"] == "prompts/system.md"
    assert finding["line"] == 61
    assert finding["prompt_id"] == "main"
    assert finding["severity"] == "warning"
    assert "cache-gate: ignore[CG101]" in finding["hint"]


def test_dates_in_dynamic_blocks_are_fine(tmp_path: Path) -> None:
    prompt = {"id": "main", "blocks": [
        {"file": "prompts/system.md", "cache_control": "5m"},
        {"file": "prompts/ticket.md", "dynamic": True},
    ]}
    write_repo(tmp_path, {"prompts/system.md": CLEAN_PROSE,
                          "prompts/ticket.md": "Opened 2026-11-26T10:00:00Z\n"}, [prompt])
    assert findings(tmp_path, rule="CG101") == []


def test_todays_date_in_a_file_is_an_error(tmp_path: Path) -> None:
    import datetime as dt

    today = dt.datetime.now().astimezone().date().isoformat()
    write_repo(tmp_path, {"prompts/system.md": CLEAN_PROSE + f"Generated {today}.\n"},
               [one_file_prompt()])
    [finding] = findings(tmp_path, rule="CG101")
    assert finding["severity"] == "error"
    assert finding["message"].startswith(f"today's date '{today}'")
