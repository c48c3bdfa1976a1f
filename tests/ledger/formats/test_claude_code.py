"""`claude-code`: a transcript line's `sessionId` is the request's session, and the
API's own diagnosis of a miss is read where the response keeps it,
`message.diagnostics.cache_miss_reason.type`, leniently."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.ledger.formats.reading import (
    HOSTILE_CAUSES,
    read,
    real_lines,
    records_in_every_run,
    verdicts,
)
from tests.ledgers import claude_code

TRANSCRIPT = real_lines("claude_code_transcript.jsonl")
SESSION = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"


def test_every_request_of_a_transcript_is_in_its_session() -> None:
    records = [record for record in map(read, TRANSCRIPT) if record is not None]
    assert len(records) == 6  # one line per content block: three requests
    assert {record.session for record in records} == {SESSION}
    assert {record.miss_reason for record in records} == {None}


def _diagnosed(diagnostics: Any, **fields: Any) -> dict[str, Any]:
    """A transcript line whose `message` (the API's response) carries `diagnostics`.

    Hand-made: Claude Code writes the response it got as `message`, so a diagnosis
    is there; no transcript with one was at hand (its shape there is unconfirmed)."""
    line = claude_code(read=0, write=9000, **fields)
    line["message"]["diagnostics"] = diagnostics
    return line


def test_the_cause_is_the_messages_cache_miss_reason_type() -> None:
    line = _diagnosed({"cache_miss_reason": {"type": "messages_changed",
                                             "cache_missed_input_tokens": 8800}})
    for record in records_in_every_run(line):
        assert record is not None and record.format == "claude-code"
        assert (record.session, record.miss_reason, record.prompt_cache_hit) == (
            "sess-1", "messages_changed", False)


def test_a_diagnosis_beside_the_message_is_not_the_responses() -> None:
    line = {**claude_code(read=0, write=9000),
            "diagnostics": {"cache_miss_reason": {"type": "tools_changed"}}}
    record = read(line)
    assert record is not None and record.miss_reason is None


@pytest.mark.parametrize("diagnostics", [
    "messages_changed", 3, [], {"cache_miss_reason": "messages_changed"},
    {"cache_miss_reason": {"type": None}}, {"cache_miss_reason": {"type": {"x": 1}}},
])
def test_a_wrong_shape_is_unknown_never_a_bad_line(diagnostics: Any) -> None:
    line = _diagnosed(diagnostics)
    assert verdicts(line) == {"claude-code"}
    for record in records_in_every_run(line):
        assert record is not None and record.miss_reason is None


@pytest.mark.parametrize("cause", HOSTILE_CAUSES)
def test_a_cause_that_is_no_short_identifier_never_reaches_the_record(cause: str) -> None:
    line = _diagnosed({"cache_miss_reason": {"type": cause}})
    assert verdicts(line) == {"claude-code"}
    for record in records_in_every_run(line):
        assert record is not None and record.miss_reason is None


@pytest.mark.parametrize("session", [5, ["sess-1"], {"id": "sess-1"}, True])
def test_a_wrong_session_id_is_unknown_never_a_bad_line(session: object) -> None:
    line = claude_code(sessionId=session)
    assert verdicts(line) == {"claude-code"}  # the requestId still tells the format
    for record in records_in_every_run(line):
        assert record is not None and record.session is None
        assert record.dedup_key is not None


def test_a_line_told_only_by_a_wrong_session_id_is_in_no_format() -> None:
    line = claude_code(sessionId=7)
    del line["requestId"]
    assert verdicts(line) == {"not a request"}


def test_an_empty_session_id_names_no_session() -> None:
    record = read(json.loads(json.dumps(claude_code(sessionId=""))))
    assert record is not None and record.session is None
