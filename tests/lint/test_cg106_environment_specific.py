"""CG106 environment-specific: machine details in a stable prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from cache_gate.rules.cg106_environment_specific import check_text
from tests.lint.repo import CLEAN_PROSE, findings, one_file_prompt, text_problems, write_repo


@pytest.mark.parametrize(("text", "what"), [
    ("Repo at /home/alice/src/shop.", "home directory '/home/alice'"),
    ("Repo at /Users/bob/work.", "home directory '/Users/bob'"),
    ("Cache in /root/.cache", "home directory '/root/'"),
    ("CI checkout /home/runner/work/app", "home directory '/home/runner'"),
    ("Desktop C:\\Users\\Carol\\Desktop", "home directory 'C:\\Users\\Carol'"),
    ("Output in /tmp/tmpa8f3kd9/out.txt", "temporary path '/tmp/tmpa8f3kd9'"),
    ("Scratch /var/folders/xy/T/x", "temporary path '/var/folders/xy'"),
    ("Windows %TEMP%\\x", "temporary path '%TEMP%'"),
    ("Shell $TMPDIR/x", "temporary path '$TMPDIR'"),
    ("alice@build-07:~$ ls", "shell prompt 'alice@build-07:~'"),
    ("Database db1.internal:5432", "host name 'db1.internal'"),
    ("Laptop mbp.local", "host name 'mbp.local'"),
    ("Node ip-10-0-3-12", "host name 'ip-10-0-3-12'"),
    ("Server 192.168.1.20:8000", "private network address '192.168.1.20'"),
    ("Server 10.0.3.12", "private network address '10.0.3.12'"),
])
def test_finds_machine_details(text: str, what: str) -> None:
    [problem] = text_problems(check_text, text)
    assert problem.message.startswith(what)


@pytest.mark.parametrize("text", [
    "Gateway http://localhost:8000 and 127.0.0.1.",
    "Clone into /home/user/project or /Users/you/project or /home/<user>/x.",
    "Config in ~/.claude and ./home/alice.",
    "Mail alice@example.com for access.",
    "Settings in settings.local.json; .local files stay private.",
    "Version 10.0.3.12.1, not an address; 8.8.8.8 is public.",
    "Write temporary files to /tmp.",
])
def test_look_alikes_are_not_machine_details(text: str) -> None:
    assert text_problems(check_text, text) == []


def test_is_a_warning_at_file_line(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/system.md": CLEAN_PROSE + "Repo: /home/alice/shop\n"},
               [one_file_prompt()])
    [finding] = findings(tmp_path, rule="CG106")
    assert (finding["line"], finding["severity"]) == (61, "warning")
