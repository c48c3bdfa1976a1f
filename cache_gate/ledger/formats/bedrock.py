"""`bedrock`: Amazon Bedrock's Converse / ConverseStream usage, or a model-invocation
log record.

Recognised by a `usage` with `inputTokens`, `cacheReadInputTokens` or
`cacheWriteInputTokens` (the Converse response as boto3's `converse()` returns it,
or any line carrying that `usage`: log ConverseStream's `metadata` event as
`{"usage": ...}`), or by `schemaType` "ModelInvocationLog" (a record Bedrock's
model-invocation logging writes to CloudWatch Logs or S3).

- `inputTokens` EXCLUDES cache reads and writes, as Anthropic's `input_tokens`
  does: the request's input is `inputTokens` + `cacheReadInputTokens` +
  `cacheWriteInputTokens`.
- `cacheDetails: [{"ttl": "5m"|"1h", "inputTokens": N}]` splits the writes by TTL
  (a 1-hour write costs 2x the base input price, a 5-minute one 1.25x); without it
  the split is unknown and every write is priced as a 5-minute one.
- Bedrock leaves the cache fields out when the request set no `cachePoint`: such a
  response reports no prompt caching (unknown, not zero).
- A log record: `input.inputTokenCount`, `input.cacheReadInputTokenCount`,
  `input.cacheWriteInputTokenCount`, `output.outputTokenCount`, `modelId`,
  `timestamp`; the TTL split is read from the logged response body's usage where
  it has one (Converse's `cacheDetails`, InvokeModel's Anthropic `cache_creation`).
- The model is `modelId` (a Converse response names none: add `modelId` beside it);
  the time is `timestamp` (a Converse response has none: add one).
- An application's `session_id` and `cache_miss_reason` logged beside the response are
  read as a backlog record's are; the provider's own diagnosis wins.

Sources: AWS, Amazon Bedrock API reference, "TokenUsage",
https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html
and "CacheDetail", https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_CacheDetail.html
(field names, "cacheDetails ... Empty if no cache creation occurred"); the user
guide's "Prompt caching", https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html,
for "inputTokens represents only the non-cached input tokens" (read as quoted in
crmne/ruby_llm#832 and anomalyco/opencode#38427: the page itself was not at hand);
"Model invocation logging", https://docs.aws.amazon.com/bedrock/latest/userguide/model-invocation-logging.html,
for the log record (field names checked against a published record and Panther's
schema for it, not AWS's page). Not confirmed: that a log's `inputTokenCount`
excludes cache reads and writes as the response's `inputTokens` does (AWS's sample
record, without caching, has them equal); nor that models other than Anthropic's
follow the rule everywhere (maximhq/bifrost#6942 measured an OpenAI model's
ConverseStream `inputTokens` including the writes). Shapes checked with botocore
1.44's bedrock-runtime service model.
"""

from __future__ import annotations

import msgspec

from cache_gate.ledger.formats.fields import decode_field, epoch, plain, request_record
from cache_gate.ledger.line_errors import LineError
from cache_gate.ledger.lines import (
    CacheDetail,
    InvocationInput,
    InvocationOutput,
    Line,
    ResponseUsage,
)
from cache_gate.ledger.record import Record

NAME = "bedrock"
LOG_SCHEMA = "ModelInvocationLog"


class _ResponseBody(msgspec.Struct, gc=False):
    usage: ResponseUsage | None = None


_INPUT = msgspec.json.Decoder(InvocationInput)
_OUTPUT = msgspec.json.Decoder(InvocationOutput)
_BODY = msgspec.json.Decoder(_ResponseBody)


def reports_usage(usage: ResponseUsage) -> bool:
    """A Converse `usage` (camelCase), as no other format spells one."""
    return (usage.inputTokens is not None or usage.cacheReadInputTokens is not None
            or usage.cacheWriteInputTokens is not None)


def _ttl_split(details: list[CacheDetail]) -> tuple[int, int]:
    """(writes, of which 1-hour) as `cacheDetails` lists them."""
    return (sum(detail.inputTokens or 0 for detail in details),
            sum(detail.inputTokens or 0 for detail in details if detail.ttl == "1h"))


def _tokens(input_tokens: int | None, read: int | None, write: int | None,
            write_1h: int | None) -> tuple[int | None, int | None, int | None, int | None]:
    """(uncached, read, write, 1h write); all None when prompt caching is unreported."""
    if input_tokens is None or (read is None and write is None):
        return None, None, None, None
    write = write or 0
    if write_1h is not None and write_1h > write:
        raise LineError(f"cacheDetails list {write_1h} 1-hour cache write tokens, more than "
                        f"cacheWriteInputTokens ({write})")
    return input_tokens, read or 0, write, write_1h


def normalise(line: Line, usage: ResponseUsage) -> Record:
    """A Converse / ConverseStream usage."""
    write, write_1h = usage.cacheWriteInputTokens, None
    if usage.cacheDetails is not None:
        listed, write_1h = _ttl_split(usage.cacheDetails)
        if write is None:
            write = listed
    uncached, read, write, write_1h = _tokens(usage.inputTokens, usage.cacheReadInputTokens,
                                              write, write_1h)
    return _record(line, uncached, read, write, write_1h, usage.outputTokens)


def normalise_log(line: Line) -> Record:
    """A model-invocation log record."""
    given = decode_field(_INPUT, line.input, "input") if line.input else InvocationInput()
    answered = (decode_field(_OUTPUT, line.output, "output") if line.output
                else InvocationOutput())
    write = given.cacheWriteInputTokenCount
    write_1h = _logged_one_hour_writes(answered.outputBodyJson)
    if write_1h is not None and write_1h > (write or 0):
        write_1h = None  # a body at odds with the counts: the split is unknown
    uncached, read, write, write_1h = _tokens(
        given.inputTokenCount, given.cacheReadInputTokenCount, write, write_1h)
    return _record(line, uncached, read, write, write_1h, answered.outputTokenCount)


def _logged_one_hour_writes(body: msgspec.Raw) -> int | None:
    """The 1-hour writes in a logged response body's usage, read leniently: the body
    is the provider's response (Converse's `cacheDetails`, an InvokeModel Anthropic
    body's `cache_creation`), a list of chunks for a stream, or left out."""
    if not body:
        return None
    try:
        usage = _BODY.decode(body).usage
    except msgspec.ValidationError:
        return None
    if usage is None:
        return None
    if usage.cacheDetails is not None:
        return _ttl_split(usage.cacheDetails)[1]
    if usage.cache_creation is not None:
        return usage.cache_creation.ephemeral_1h_input_tokens
    return None


def _record(line: Line, uncached: int | None, read: int | None, write: int | None,
            write_1h: int | None, output_tokens: int | None) -> Record:
    return request_record(line, NAME, time=epoch(line.timestamp),
                          model=line.modelId or line.model, uncached=uncached, read=read,
                          write=write, write_1h=write_1h, output=output_tokens)


def claims(line: Line) -> bool:
    """A flat model-invocation log record (`schemaType`), or a response `usage` in
    Converse's camelCase."""
    if plain(line) or line.usage is None:
        return line.schemaType == LOG_SCHEMA
    return reports_usage(line.usage)


def read(line: Line) -> Record:
    if plain(line) or line.usage is None:
        return normalise_log(line)
    return normalise(line, line.usage)
