"""What every format's Record holds beside the tokens: the formats without a session
or a diagnosis of their own report none, and read an application's `session_id` /
`cache_miss_reason` logged beside a response, as they read its `workflow`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.ledger.formats.reading import read, records_in_every_run, verdicts
from tests.ledgers import (
    anthropic,
    bedrock_converse,
    bedrock_log,
    deepseek,
    gemini,
    gemini_sdk,
    openai_chat,
    openai_responses,
    usage_report,
)

RESPONSES: list[Callable[..., dict[str, Any]]] = [
    anthropic, openai_chat, openai_responses, deepseek, bedrock_converse, bedrock_log, gemini,
    gemini_sdk]


@pytest.mark.parametrize("response", RESPONSES, ids=lambda builder: builder.__name__)
def test_a_provider_response_has_no_session_cause_or_similarity(
        response: Callable[..., dict[str, Any]]) -> None:
    record = read(response())
    assert record is not None
    assert (record.session, record.miss_reason, record.semantic_similarity) == (
        None, None, None)


@pytest.mark.parametrize("response", RESPONSES, ids=lambda builder: builder.__name__)
def test_an_applications_session_and_cause_beside_a_response_are_read(
        response: Callable[..., dict[str, Any]]) -> None:
    plain = read(response())
    assert plain is not None
    line = response(session_id="app-session-7", cache_miss_reason="prefix_edited")
    assert verdicts(line) == {plain.format}
    for record in records_in_every_run(line):
        assert record is not None
        assert (record.session, record.miss_reason) == ("app-session-7", "prefix_edited")


@pytest.mark.parametrize("response", RESPONSES, ids=lambda builder: builder.__name__)
def test_wrong_ones_beside_a_response_are_unknown(
        response: Callable[..., dict[str, Any]]) -> None:
    plain = read(response())
    assert plain is not None
    line = response(session_id=["app-session-7"], cache_miss_reason="\x1b[31mred\x1b[0m")
    assert verdicts(line) == {plain.format}
    assert records_in_every_run(line) == records_in_every_run(response())


def test_a_usage_report_bucket_is_many_requests_of_no_one_session() -> None:
    record = read(usage_report(session_id="app-session-7"))
    assert record is not None and record.aggregate
    assert (record.session, record.miss_reason) == (None, None)
