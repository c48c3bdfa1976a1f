"""CG104 unique-identifier: per-request identifiers in a stable prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from cache_gate.rules.cg104_unique_identifier import check_text
from tests.lint.repo import CLEAN_PROSE, findings, one_file_prompt, text_problems, write_repo


@pytest.mark.parametrize(("text", "value"), [
    ("Trace 3f1c2a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f.", "3f1c2a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f"),
    ("Run 01ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAV"),
    ("Request req_011CPqV2nZWp8k5Yx4HQ1abc", "req_011CPqV2nZWp8k5Yx4HQ1abc"),
    ("Message msg_01XFDUDYJgAACzvnptvVoYEL", "msg_01XFDUDYJgAACzvnptvVoYEL"),
    ("Completion chatcmpl-8abcDEF1234567890xyz", "chatcmpl-8abcDEF1234567890xyz"),
    ("traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    ("session_id: 7f3a9c21e4", "7f3a9c21e4"),
    ("X-Request-Id: abc123def456", "abc123def456"),
    ('{"session_id": "a1b2c3d4e5f6"}', "a1b2c3d4e5f6"),
    ("nonce=Zx81hQ2pL0", "Zx81hQ2pL0"),
])
def test_finds_identifiers(text: str, value: str) -> None:
    [problem] = text_problems(check_text, text)
    assert f"'{value}'" in problem.message


@pytest.mark.parametrize("text", [
    "Nil UUID 00000000-0000-0000-0000-000000000000 is a placeholder.",
    "ABCDEFGHJKMNPQRSTVWXYZABCD is no ULID (no digits).",
    "request_id: {request_id} and session_id: <session-id>.",
    "request_id: example, session: 12345678, run_id: v1.2.3",
    "Commit 0b3cae3f341ef7d8031538235773b601add7dc20, version 10.0.1.",
    "Call the tool_use_result_handler for each block.",
])
def test_look_alikes_are_not_identifiers(text: str) -> None:
    assert text_problems(check_text, text) == []


def test_reported_at_file_line(tmp_path: Path) -> None:
    text = CLEAN_PROSE + "Session: 3f1c2a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f\n"
    write_repo(tmp_path, {"prompts/system.md": text}, [one_file_prompt()])
    [finding] = findings(tmp_path, rule="CG104")
    assert (finding["line"], finding["severity"]) == (61, "error")
