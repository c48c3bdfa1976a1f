"""`bedrock`: Converse usage and model-invocation log records (see the module's
docstring for the sources). `inputTokens` EXCLUDES cache reads and writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cache_gate.ledger.line_errors import LineError
from tests.ledger.formats.reading import read, verdicts
from tests.ledgers import bedrock_converse, bedrock_log

ONE_HOUR_FIRST = [{"ttl": "1h", "inputTokens": 1000}, {"ttl": "5m", "inputTokens": 100}]


def test_converse_input_tokens_exclude_cache_reads_and_writes() -> None:
    record = read(bedrock_converse(input_tokens=12, read=3000, write=1100))
    assert record is not None
    assert (record.format, record.uncached_input, record.cache_read, record.cache_write) == (
        "bedrock", 12, 3000, 1100)
    assert record.input_total == 4112
    assert record.prompt_cache_hit is True and record.eligible
    assert record.output_tokens == 40
    assert (record.model, record.time) == (None, None)  # boto3's response names neither


def test_converse_cache_details_split_the_writes_by_ttl() -> None:
    record = read(bedrock_converse(read=0, write=1100, details=ONE_HOUR_FIRST))
    assert record is not None
    assert (record.cache_write, record.cache_write_1h, record.prompt_cache_hit) == (
        1100, 1000, False)


def test_converse_cache_details_alone_give_the_writes() -> None:
    record = read(bedrock_converse(read=None, write=None, details=ONE_HOUR_FIRST))
    assert record is not None and (record.cache_write, record.cache_write_1h) == (1100, 1000)


def test_converse_empty_cache_details_mean_no_write() -> None:
    record = read(bedrock_converse(read=500, write=0, details=[]))
    assert record is not None and (record.cache_write, record.cache_write_1h) == (0, 0)


def test_converse_one_hour_writes_beyond_the_writes_make_the_line_bad() -> None:
    with pytest.raises(LineError, match="more than cacheWriteInputTokens"):
        read(bedrock_converse(write=500, details=ONE_HOUR_FIRST))


def test_converse_without_cache_fields_reports_no_prompt_caching() -> None:
    """Bedrock leaves the cache fields out when the request set no cachePoint."""
    record = read(bedrock_converse(read=None, write=None))
    assert record is not None and record.format == "bedrock"
    assert record.prompt_cache_hit is None and record.cache_read is None
    assert not record.eligible


def test_converse_with_the_applications_model_and_time_beside_it() -> None:
    line = bedrock_converse(modelId="us.anthropic.claude-sonnet-4-6-v1:0",
                            timestamp="2026-11-20T10:00:00Z")
    record = read(line)
    assert record is not None
    assert record.model == "us.anthropic.claude-sonnet-4-6-v1:0"
    assert record.time == datetime(2026, 11, 20, 10, tzinfo=UTC).timestamp()


def test_converse_stream_usage_logged_as_a_line() -> None:
    """ConverseStream's `metadata` event carries the same usage: logged as a line's
    `usage` (with its `metrics`) it is read the same way."""
    event = {"usage": bedrock_converse()["usage"], "metrics": {"latencyMs": 700}}
    record = read(event)
    assert record is not None and (record.format, record.cache_read) == ("bedrock", 3000)


def test_invocation_log_record() -> None:
    record = read(bedrock_log(input_tokens=12, read=3000, write=0))
    assert record is not None
    assert (record.format, record.uncached_input, record.cache_read, record.cache_write) == (
        "bedrock", 12, 3000, 0)
    assert record.prompt_cache_hit is True
    assert record.model == "us.anthropic.claude-sonnet-4-6-v1:0"
    assert record.output_tokens == 446
    assert record.time == datetime(2026, 11, 20, 10, tzinfo=UTC).timestamp()


def test_invocation_log_ttl_split_from_the_converse_body() -> None:
    body_usage = {"inputTokens": 12, "outputTokens": 446, "totalTokens": 1558,
                  "cacheReadInputTokens": 0, "cacheWriteInputTokens": 1100,
                  "cacheDetails": ONE_HOUR_FIRST}
    record = read(bedrock_log(read=0, write=1100, output_usage=body_usage))
    assert record is not None and (record.cache_write, record.cache_write_1h) == (1100, 1000)


def test_invocation_log_ttl_split_from_an_invoke_model_anthropic_body() -> None:
    body_usage = {"input_tokens": 12, "output_tokens": 446, "cache_read_input_tokens": 0,
                  "cache_creation_input_tokens": 1100,
                  "cache_creation": {"ephemeral_5m_input_tokens": 100,
                                     "ephemeral_1h_input_tokens": 1000}}
    line = bedrock_log(read=0, write=1100, output_usage=body_usage, operation="InvokeModel")
    record = read(line)
    assert record is not None and (record.cache_write, record.cache_write_1h) == (1100, 1000)


@pytest.mark.parametrize("body", [[{"chunk": {}}], "not json", {"usage": "n/a"}, None])
def test_invocation_log_body_of_another_shape_leaves_the_split_unknown(body: object) -> None:
    line = bedrock_log(read=0, write=1100)
    line["output"]["outputBodyJson"] = body
    record = read(line)
    assert record is not None and (record.cache_write, record.cache_write_1h) == (1100, None)


def test_invocation_log_without_cache_counts_reports_no_prompt_caching() -> None:
    record = read(bedrock_log(read=None, write=None))
    assert record is not None and record.format == "bedrock"
    assert record.prompt_cache_hit is None and not record.eligible


@pytest.mark.parametrize(("field", "value", "message"), [
    ("input", [1], "input: not a JSON object"),
    ("input", {"inputTokenCount": "12"}, "input.inputTokenCount: expected integer"),
    ("output", {"outputTokenCount": -1}, "output.outputTokenCount: "),
])
def test_invocation_log_counts_of_the_wrong_type_make_the_line_bad(
        field: str, value: Any, message: str) -> None:
    line = bedrock_log(**{field: value})
    assert verdicts(line) == {"bad"}
    with pytest.raises(LineError, match=message):
        read(line)


def test_input_and_output_of_other_formats_are_never_read_as_a_log() -> None:
    """OpenAI's Responses `output` is a list, an application's `input` anything: only
    a ModelInvocationLog record's are decoded."""
    line = bedrock_converse(input="Review this diff", output=[{"type": "message"}])
    assert verdicts(line) == {"bedrock"}
