"""Each ledger format read into the normalised Record, with its own token semantics."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from cache_gate.ledger.formats import LineError, read_line
from cache_gate.ledger.lines import decoders
from cache_gate.ledger.record import Record
from tests.ledgers import anthropic, backlog, claude_code, litellm, openai_chat, openai_responses

FULL = decoders(descriptive=True, timed=True)


def read(line: dict[str, object]) -> Record | None:
    return read_line(json.dumps(line).encode(), FULL)


def test_backlog_cached_tokens_are_part_of_input_tokens() -> None:
    record = read(backlog(input_tokens=1000, cached_input_tokens=800, cache_hit=True))
    assert record is not None
    assert (record.format, record.uncached_input, record.cache_read, record.cache_write) == (
        "backlog", 200, 800, None)
    assert record.input_total == 1000
    assert record.prompt_cache_hit is True
    assert record.workflow == "implementer"
    assert record.time == datetime(2026, 11, 20, 10, tzinfo=UTC).timestamp()


def test_backlog_explicit_cache_hit_decides_over_tokens() -> None:
    record = read(backlog(cache_hit=False, cached_input_tokens=500))
    assert record is not None and record.prompt_cache_hit is False


def test_backlog_without_cache_hit_falls_back_to_read_tokens() -> None:
    hit = read(backlog(cache_hit=..., cached_input_tokens=1))
    miss = read(backlog(cache_hit=..., cached_input_tokens=0))
    assert hit is not None and hit.prompt_cache_hit is True
    assert miss is not None and miss.prompt_cache_hit is False


def test_backlog_with_nothing_about_the_cache_is_unknown_not_a_miss() -> None:
    record = read(backlog(cache_hit=None, cached_input_tokens=...))
    assert record is not None
    assert record.prompt_cache_hit is None
    assert record.cache_read is None and record.uncached_input is None
    assert not record.eligible


def test_backlog_with_anthropic_fields_has_input_tokens_uncached_only() -> None:
    record = read(backlog(input_tokens=50, cached_input_tokens=..., cache_hit=...,
                          cache_read_input_tokens=900, cache_creation_input_tokens=100))
    assert record is not None
    assert (record.uncached_input, record.cache_read, record.cache_write) == (50, 900, 100)
    assert record.input_total == 1050
    assert record.prompt_cache_hit is True


def test_backlog_cache_layers() -> None:
    record = read(backlog(response_cache={"status": "hit", "useful": False},
                          semantic_cache={"status": "miss", "similarity": 0.5, "useful": None}))
    assert record is not None
    assert (record.response_cache, record.response_useful) == ("hit", False)
    assert (record.semantic_cache, record.semantic_useful) == ("miss", None)
    assert not record.eligible


@pytest.mark.parametrize(("line", "message"), [
    (backlog(input_tokens=10, cached_input_tokens=11), "exceeds input_tokens"),
    (backlog(cache_hit="yes"), "cache_hit must be true, false or null"),
])
def test_backlog_values_that_cannot_be_a_request(line: dict[str, object], message: str) -> None:
    with pytest.raises(LineError, match=message):
        read(line)


def test_anthropic_input_tokens_exclude_cache_reads_and_writes() -> None:
    record = read(anthropic(input_tokens=100, read=900, write=50))
    assert record is not None
    assert (record.format, record.uncached_input, record.cache_read, record.cache_write) == (
        "anthropic", 100, 900, 50)
    assert record.input_total == 1050
    assert record.prompt_cache_hit is True
    assert record.time is None  # a bare response carries no time


def test_anthropic_bare_usage_object() -> None:
    record = read({"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 0,
                   "cache_creation_input_tokens": 3000})
    assert record is not None
    assert (record.format, record.prompt_cache_hit, record.cache_write) == (
        "anthropic", False, 3000)


def test_anthropic_one_hour_writes_are_kept_apart() -> None:
    line = anthropic(input_tokens=1, read=0, write=300)
    line["usage"]["cache_creation"] = {"ephemeral_5m_input_tokens": 100,
                                       "ephemeral_1h_input_tokens": 200}
    record = read(line)
    assert record is not None and (record.cache_write, record.cache_write_1h) == (300, 200)


def test_anthropic_response_without_cache_fields_reports_no_caching() -> None:
    record = read(anthropic(read=None, write=None))
    assert record is not None
    assert record.prompt_cache_hit is None and record.cache_read is None


def test_openai_chat_prompt_tokens_include_cached_tokens() -> None:
    record = read(openai_chat(prompt_tokens=1000, cached=600))
    assert record is not None
    assert (record.format, record.uncached_input, record.cache_read, record.cache_write) == (
        "openai", 400, 600, None)
    assert record.input_total == 1000
    assert record.time == 1795600000.0


def test_openai_responses_api_input_tokens_include_cached_tokens() -> None:
    record = read(openai_responses(input_tokens=2000, cached=0))
    assert record is not None
    assert (record.uncached_input, record.cache_read, record.prompt_cache_hit) == (2000, 0, False)
    assert record.time == 1795600000.5


def test_openai_without_details_reports_no_caching() -> None:
    record = read(openai_chat(cached=None))
    assert record is not None and record.prompt_cache_hit is None


def test_litellm_cache_hit_is_the_response_cache_and_tokens_include_cache() -> None:
    record = read(litellm(prompt_tokens=1000, read=700, write=100, cache_hit="False"))
    assert record is not None
    assert record.format == "litellm"
    assert (record.uncached_input, record.cache_read, record.cache_write) == (200, 700, 100)
    assert record.response_cache == "miss"
    assert record.prompt_cache_hit is True
    assert record.workflow == "review"


def test_litellm_response_cache_hit_is_not_eligible_for_prompt_cache_kpis() -> None:
    record = read(litellm(cache_hit="True"))
    assert record is not None
    assert record.response_cache == "hit" and not record.eligible


def test_litellm_cache_off_means_no_response_cache() -> None:
    record = read(litellm(cache_hit="False", cache_key="Cache OFF"))
    assert record is not None and record.response_cache is None


def test_litellm_metadata_may_be_a_json_string() -> None:
    record = read(litellm(metadata_as_string=True, read=300, write=0, prompt_tokens=1000))
    assert record is not None and (record.uncached_input, record.cache_read) == (700, 300)


def test_litellm_openai_style_cached_tokens() -> None:
    line = litellm(read=None, write=None, prompt_tokens=1000)
    line["metadata"]["additional_usage_values"] = {"prompt_tokens_details": {
        "cached_tokens": 250, "text_tokens": None}}
    record = read(line)
    assert record is not None and (record.uncached_input, record.cache_read) == (750, 250)


def test_litellm_without_cache_usage_reports_no_prompt_caching() -> None:
    record = read(litellm(read=None, write=None))
    assert record is not None and record.prompt_cache_hit is None


def test_litellm_workflow_from_skill_tag_and_tags_as_string() -> None:
    record = read(litellm(tags=None, request_tags=json.dumps(["team:x", "skill:refine"])))
    assert record is not None and record.workflow == "refine"


def test_litellm_older_releases_left_writes_out_of_prompt_tokens() -> None:
    record = read(litellm(prompt_tokens=900, read=800, write=500))
    assert record is not None and (record.uncached_input, record.cache_write) == (100, 500)


def test_claude_code_assistant_line_with_anthropic_semantics() -> None:
    record = read(claude_code(input_tokens=10, read=5000, write=200))
    assert record is not None
    assert (record.format, record.uncached_input, record.cache_read, record.cache_write) == (
        "claude-code", 10, 5000, 200)
    assert record.model == "claude-opus-4-6"
    assert record.dedup_key == "message\x1fmsg_01"


def test_claude_code_lines_without_usage_are_not_requests() -> None:
    user_turn = {"type": "user", "sessionId": "s", "requestId": None, "timestamp":
                 "2026-11-20T10:00:00Z", "message": {"role": "user", "content": "hello"}}
    summary = {"type": "summary", "summary": "Fixing the cache", "leafUuid": "x"}
    assert read(user_turn) is None
    assert read(summary) is None


@pytest.mark.parametrize("raw", [
    b'{"input_tokens": "12", "cache_hit": true}',
    b'{"input_tokens": -1, "cache_hit": true}',
    b'{"input_tokens": 1.5, "cache_hit": true}',
    b'{"workflow": 3}',
    b'[1, 2]',
    b'"a string"',
    b'{"cache_hit": true',
    b'{"cache_hit": NaN}',
    b'{"response_cache": {"status": "maybe"}, "cache_hit": true}',
])
def test_wrong_types_and_malformed_json_are_errors(raw: bytes) -> None:
    with pytest.raises(Exception) as caught:
        read_line(raw, FULL)
    assert not isinstance(caught.value, AssertionError)


def test_anthropic_bare_usage_keeps_its_ttl_split() -> None:
    usage = {"input_tokens": 12, "cache_creation_input_tokens": 3000,
             "cache_read_input_tokens": 0, "output_tokens": 80, "service_tier": "standard",
             "cache_creation": {"ephemeral_5m_input_tokens": 1000,
                                "ephemeral_1h_input_tokens": 2000}}
    record = read(usage)
    assert record is not None
    assert (record.format, record.cache_write, record.cache_write_1h) == ("anthropic", 3000, 2000)


def test_openai_newer_models_report_cache_writes_inside_the_prompt_tokens() -> None:
    line = openai_chat(prompt_tokens=5000, cached=1024)
    line["usage"]["prompt_tokens_details"]["cache_write_tokens"] = 2976  # type: ignore[index]
    record = read(line)
    assert record is not None
    assert (record.uncached_input, record.cache_read, record.cache_write) == (1000, 1024, 2976)
    assert record.input_total == 5000


def test_litellm_model_response_dump_has_openai_semantics() -> None:
    """LiteLLM's ModelResponse (Anthropic behind it) adds the Anthropic names beside
    `prompt_tokens`, and counts reads and writes inside it."""
    dump = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1795600000,
            "model": "claude-sonnet-4-6", "usage": {
                "prompt_tokens": 4020, "completion_tokens": 50, "total_tokens": 4070,
                "prompt_tokens_details": {"cached_tokens": 3000, "text_tokens": None},
                "cache_read_input_tokens": 3000, "cache_creation_input_tokens": 1000}}
    record = read(dump)
    assert record is not None
    assert (record.format, record.uncached_input, record.cache_read, record.cache_write) == (
        "openai", 20, 3000, 1000)
    assert record.prompt_cache_hit is True


@pytest.mark.parametrize(("cache_hit", "cache_key", "status"), [
    ("True", "k1", "hit"),
    ("None", "k1", "miss"),       # a non-streaming miss
    ("False", "k1", "miss"),      # a streaming miss
    (None, "k1", "miss"),
    ("None", "Cache OFF", None),  # no response cache applied
    ("True", "Cache OFF", None),
    ("None", None, None),         # nothing says a response cache is configured
    ("False", None, "miss"),
])
def test_litellm_response_cache_status(cache_hit: str | None, cache_key: str | None,
                                       status: str | None) -> None:
    record = read(litellm(cache_hit=cache_hit, cache_key=cache_key))
    assert record is not None and record.response_cache == status


def test_litellm_one_hour_writes_under_the_token_details() -> None:
    line = litellm(prompt_tokens=5000, read=0, write=4000)
    line["metadata"]["additional_usage_values"]["prompt_tokens_details"] = {  # type: ignore[index]
        "cached_tokens": 0,
        "cache_creation_token_details": {"ephemeral_5m_input_tokens": 0,
                                         "ephemeral_1h_input_tokens": 4000}}
    record = read(line)
    assert record is not None and (record.cache_write, record.cache_write_1h) == (4000, 4000)


def test_claude_code_synthetic_api_errors_are_not_requests() -> None:
    line = claude_code(isApiErrorMessage=True)
    line["message"]["model"] = "<synthetic>"  # type: ignore[index]
    assert read(line) is None
