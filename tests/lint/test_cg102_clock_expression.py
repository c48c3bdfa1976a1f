"""CG102 clock-expression: expressions that render the current time."""

from __future__ import annotations

from pathlib import Path

import pytest

from cache_gate.rules.cg102_clock_expression import check_text
from tests.lint.repo import CLEAN_PROSE, findings, one_file_prompt, text_problems, write_repo


@pytest.mark.parametrize(("text", "expression"), [
    ("Today is {{ now }}.", "{{ now }}"),
    ("Today is {{today}}.", "{{today}}"),
    ("{{ current_date }}", "{{ current_date }}"),
    ("Year {{ 'now' | date: '%Y' }}", "{{ 'now' | date: '%Y' }}"),
    ("Year {% now 'Y' %}", "{% now 'Y' %}"),
    ("Time <%= Time.now %>", "<%= Time.now %>"),
    ("Date {date}", "{date}"),
    ("Stamp {now:%Y-%m-%d}", "{now:%Y-%m-%d}"),
    ("Stamp %(timestamp)s", "%(timestamp)s"),
    ("Built $(date -u)", "$(date -u)"),
    ("Built `date +%F`", "`date +%F`"),
    ("Epoch ${EPOCHSECONDS}", "${EPOCHSECONDS}"),
    ("Windows %DATE%", "%DATE%"),
    ("stamp = datetime.now()", "datetime.now("),
    ("stamp = datetime.datetime.utcnow()", "datetime.datetime.utcnow("),
    ("day = date.today()", "date.today("),
    ("t = time.time()", "time.time()"),
    ("const t = Date.now();", "Date.now("),
    ("const d = new Date();", "new Date()"),
    ("var d = DateTime.UtcNow;", "DateTime.UtcNow"),
    ("Instant.now()", "Instant.now("),
    ("t := time.Now()", "time.Now("),
    ("SELECT NOW()", "NOW()"),
    ("DEFAULT CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP"),
    ("format %Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"),
    ("format %d/%m/%Y", "%d/%m/%Y"),
])
def test_finds_clock_expressions(text: str, expression: str) -> None:
    [problem] = text_problems(check_text, text)
    assert repr(expression) in problem.message
    assert problem.severity is None  # the catalogue's: error


@pytest.mark.parametrize("text", [
    "Write dates as YYYY-MM-DD.",
    "Update the time field and the date column.",
    "Use the `date` command to check the clock.",
    "{{ date_of_birth }} and {{ user.updated_at }}",
    "new Date(2020, 1, 1) is a fixed date.",
    "100%s of items, %d percent, 50% done.",
    "The current time zone is UTC.",
])
def test_look_alikes_are_not_clock_expressions(text: str) -> None:
    assert text_problems(check_text, text) == []


def test_verbatim_blocks_and_render_output_are_literal() -> None:
    code = "```python\nstamp = datetime.now()\nprint(f'{now}')\n```\n"
    assert text_problems(check_text, code, verbatim=True) == []
    assert text_problems(check_text, code, rendered=True) == []
    assert len(text_problems(check_text, code)) == 2


def test_reported_at_file_line(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/system.md": CLEAN_PROSE + "\nToday is {{ now }}.\n"},
               [one_file_prompt()])
    [finding] = findings(tmp_path, rule="CG102")
    assert (finding["path"], finding["line"], finding["severity"]) == (
        "prompts/system.md", 62, "error")
    # {{ now }} is a clock expression, not also a placeholder (CG103).
    assert findings(tmp_path, rule="CG103") == []
