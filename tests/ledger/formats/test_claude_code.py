"""`claude-code`: a transcript line's `sessionId` is the request's session, and the
API's own diagnosis of a miss is read where the response keeps it,
`message.diagnostics.cache_miss_reason.type`, leniently."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cache_gate.ledger.formats import read_line
from cache_gate.ledger.formats.claude_code import (
    reported_tokens,
    request_key,
    transcript_record,
)
from cache_gate.ledger.formats.fields import epoch
from cache_gate.ledger.lines import Message
from tests.ledger.formats.reading import (
    FULL,
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


usage_counts = st.one_of(st.none(), st.integers(0, 10**6))


@given(input_tokens=usage_counts, read=usage_counts, write=usage_counts,
       output=usage_counts, session=st.sampled_from(["sess-1", "", None]),
       diagnostics=st.sampled_from([None, {"cache_miss_reason": {"type": "tools_changed"}}]))
def test_a_transcript_line_is_read_alike_without_its_line(
        input_tokens: int | None, read: int | None, write: int | None, output: int | None,
        session: str | None, diagnostics: object) -> None:
    """The transcript's hot path (`requests.Requests.take_transcript`) decides which of
    a request's lines is kept by `reported_tokens`, and makes the record it keeps with
    `transcript_record`: both agree with the record `read` makes of the line."""
    usage = {"input_tokens": input_tokens, "cache_read_input_tokens": read,
             "cache_creation_input_tokens": write, "output_tokens": output}
    line = claude_code(sessionId=session)
    line["message"]["usage"] = {name: value for name, value in usage.items()
                                if value is not None}
    line["message"]["diagnostics"] = diagnostics
    raw = json.dumps(line).encode()
    transcript = FULL.transcript.decode(raw)
    message = transcript.message
    assert isinstance(message, Message) and message.usage is not None
    expected = read_line(raw, FULL)
    assert expected is not None
    key = request_key(message, transcript.requestId)
    assert transcript_record(epoch(transcript.timestamp), transcript.sessionId, message,
                             key) == expected
    assert reported_tokens(message.usage) == expected.token_total
