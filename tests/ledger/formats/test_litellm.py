"""`litellm`: a SpendLogs row's `session_id` column is the request's session.

LiteLLM fills it with the caller's session where one was sent
(`litellm_session_id`, the proxy's `x-litellm-session-id` header, or
`metadata.session_id`); otherwise, by default, with the request's own trace id, a
new UUID each time (`general_settings.missing_session_id: omit` leaves it null)."""

from __future__ import annotations

import pytest

from tests.ledger.formats.reading import read, real_lines, records_in_every_run, verdicts
from tests.ledgers import litellm


def test_the_callers_session_is_the_session_of_each_turn() -> None:
    records = [read(line) for line in real_lines("litellm_spend_logs_sessions.jsonl")]
    assert [(record.format, record.session, record.prompt_cache_hit)
            for record in records if record is not None] == [
        ("litellm", "review-conversation-7", False),
        ("litellm", "review-conversation-7", True),
    ]


def test_without_one_each_row_has_a_session_of_its_own() -> None:
    """What LiteLLM writes when the caller named no session: one per request."""
    records = [read(line) for line in real_lines("litellm_spend_logs.jsonl")]
    sessions = [record.session for record in records if record is not None]
    assert len(sessions) == len(set(sessions)) == 5


def test_no_miss_reason_and_no_similarity() -> None:
    for line in real_lines("litellm_spend_logs_sessions.jsonl"):
        record = read(line)
        assert record is not None
        assert (record.miss_reason, record.semantic_similarity) == (None, None)


@pytest.mark.parametrize("session", [None, ""])
def test_a_null_or_empty_session_id_names_no_session(session: str | None) -> None:
    record = read(litellm(session_id=session))
    assert record is not None and record.session is None


@pytest.mark.parametrize("session", [5, ["conv-7"], {"id": "conv-7"}])
def test_a_wrong_session_id_is_unknown_never_a_bad_line(session: object) -> None:
    line = litellm(session_id=session)
    assert verdicts(line) == {"litellm"}
    for record in records_in_every_run(line):
        assert record is not None and record.session is None
        assert record.cache_read == 700


def test_a_trace_id_in_metadata_is_not_read() -> None:
    """LiteLLM keeps only its own keys in a row's `metadata`, and no trace or
    session id among them: the column is where it writes one."""
    line = litellm()
    line["metadata"]["trace_id"] = "t-1"
    record = read(line)
    assert record is not None and record.session is None
