"""One adapter per ledger format: detect a decoded line's format and normalise it.

Token semantics differ by format and are easy to get wrong:

- backlog: `cached_input_tokens` is a part of `input_tokens`, unless the record adds
  the Anthropic fields (`cache_read_input_tokens` / `cache_creation_input_tokens`),
  in which case `input_tokens` is the uncached part only. An explicit `cache_hit`
  decides whether the request hit the prompt cache.
- anthropic / claude-code: `input_tokens` EXCLUDES cache reads and writes.
- openai: `prompt_tokens` / `input_tokens` INCLUDE the cached tokens, and newer
  models' `cache_write_tokens` (older ones report no writes). A LiteLLM
  `ModelResponse` dump (`usage.prompt_tokens`, no `input_tokens`) reads the same way.
- litellm: `cache_hit` is LiteLLM's RESPONSE cache; prompt-cache tokens live in
  `metadata.additional_usage_values`; `prompt_tokens` includes them.
- claude-code: one request per `message.id`; `<synthetic>` messages are API errors
  Claude Code wrote itself, not requests.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import msgspec

from cache_gate.ledger.line_errors import LineError, describe
from cache_gate.ledger.lines import (
    LENIENT_FIELDS,
    BacklogLine,
    CacheCreation,
    Decoders,
    Line,
    Message,
    SpendMetadata,
    TokenDetails,
    Usage,
)
from cache_gate.ledger.record import Record

FORMATS = ("backlog", "anthropic", "openai", "litellm", "claude-code")

_METADATA = msgspec.json.Decoder(SpendMetadata)
_TAGS = msgspec.json.Decoder(list[str])


def epoch(moment: datetime | None) -> float | None:
    """Seconds since the epoch; a time without an offset is taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def normalise(line: Line) -> Record | None:
    """The line as a Record; None when it is valid but not a request (e.g. a user turn)."""
    message = line.message
    if message is not None and not isinstance(message, str) and (
        line.requestId is not None or line.sessionId is not None
    ):
        if message.usage is None or message.model == SYNTHETIC_MODEL:
            return None
        return _claude_code(line, message.usage, message)
    if line.request_id is not None and line.call_type is not None:
        return _litellm(line)
    usage = line.usage
    if usage is None or _is_backlog(line):
        return normalise_plain(line)
    if usage.prompt_tokens is not None and usage.input_tokens is None:
        # OpenAI's chat completions, and LiteLLM's ModelResponse, which adds the
        # Anthropic names beside `prompt_tokens` but counts them inside it.
        return _openai(line, usage)
    if (
        usage.cache_read_input_tokens is not None
        or usage.cache_creation_input_tokens is not None
        or line.type == "message"
    ):
        return _anthropic(line, usage)
    if (
        usage.prompt_tokens_details is not None
        or usage.input_tokens_details is not None
        or line.object in ("chat.completion", "response")
    ):
        return _openai(line, usage)
    return None


def _is_backlog(line: BacklogLine | Line) -> bool:
    return (
        line.cache_hit is not None
        or line.cached_input_tokens is not None
        or line.model_alias is not None
        or line.workflow is not None
    )


def normalise_plain(line: BacklogLine | Line) -> Record | None:
    """A line with none of the other formats' containers: backlog, or bare Anthropic usage."""
    if _is_backlog(line):
        return _backlog(line)
    if line.cache_read_input_tokens is not None or line.cache_creation_input_tokens is not None:
        # A bare Anthropic usage object logged on its own.
        return _anthropic(line, Usage(
            input_tokens=line.input_tokens,
            output_tokens=line.output_tokens,
            cache_read_input_tokens=line.cache_read_input_tokens,
            cache_creation_input_tokens=line.cache_creation_input_tokens,
            cache_creation=line.cache_creation,
        ))
    return None


def _backlog(line: BacklogLine | Line) -> Record:
    cache_hit = line.cache_hit
    if isinstance(cache_hit, str):
        raise LineError(f"cache_hit must be true, false or null, got {cache_hit!r}")
    read = line.cache_read_input_tokens
    write = line.cache_creation_input_tokens
    input_tokens = line.input_tokens
    if read is not None or write is not None:
        # Anthropic semantics: input_tokens is the uncached part only.
        read = read or 0
        write = write or 0
        uncached = input_tokens
    else:
        read = line.cached_input_tokens
        write = None
        if read is not None and input_tokens is not None:
            if read > input_tokens:
                raise LineError(
                    f"cached_input_tokens ({read}) exceeds input_tokens ({input_tokens})")
            uncached = input_tokens - read
        else:
            uncached = None
            read = read if input_tokens is not None else None
    if cache_hit is None and read is not None:
        cache_hit = read > 0
    response = line.response_cache
    semantic = line.semantic_cache
    # Positional: the hot path of the commonest format (keywords cost 4x here).
    return Record(
        "backlog",                  # format
        epoch(line.timestamp),      # time
        line.workflow,              # workflow
        line.phase,                 # phase
        line.prompt_id,             # prompt_id
        line.model,                 # model
        uncached,                   # uncached_input
        read if uncached is not None else None,   # cache_read
        write if uncached is not None else None,  # cache_write
        None,                       # cache_write_1h
        line.output_tokens,         # output_tokens
        cache_hit,                  # prompt_cache_hit
        response.status if response else None,      # response_cache
        response.useful if response else None,      # response_useful
        semantic.status if semantic else None,      # semantic_cache
        semantic.useful if semantic else None,      # semantic_useful
        line.cost_usd,              # cost
        line.prefix_sha256,         # prefix_sha256
        line.request_sha256,        # request_sha256
    )


def _anthropic_tokens(usage: Usage) -> tuple[int | None, int | None, int | None, int | None]:
    """(uncached, read, write, 1h write) with Anthropic semantics; all None if unreported."""
    read = usage.cache_read_input_tokens
    write = usage.cache_creation_input_tokens
    if usage.input_tokens is None or (read is None and write is None):
        return None, None, None, None
    creation = usage.cache_creation
    write_1h = creation.ephemeral_1h_input_tokens if creation else None
    return usage.input_tokens, read or 0, write or 0, write_1h


def _anthropic(line: BacklogLine | Line, usage: Usage, fmt: str = "anthropic") -> Record:
    uncached, read, write, write_1h = _anthropic_tokens(usage)
    return Record(
        format=fmt,
        time=epoch(line.timestamp),
        workflow=line.workflow,
        phase=line.phase,
        prompt_id=line.prompt_id,
        model=line.model,
        uncached_input=uncached,
        cache_read=read,
        cache_write=write,
        cache_write_1h=write_1h,
        output_tokens=usage.output_tokens,
        prompt_cache_hit=None if read is None else read > 0,
        cost=line.cost_usd,
        prefix_sha256=line.prefix_sha256,
        request_sha256=line.request_sha256,
    )


# The model Claude Code names on the assistant lines it writes for an API error.
SYNTHETIC_MODEL = "<synthetic>"


def _claude_code(line: Line, usage: Usage, message: Message) -> Record:
    record = _anthropic(line, usage, "claude-code")
    record.model = message.model
    # Claude Code writes one line per content block, each with the request's usage,
    # and a sidechain (subagent) transcript may replay a message under another
    # requestId: one API response is one request, so `message.id` identifies it.
    if message.id is not None:
        record.dedup_key = f"message\x1f{message.id}"
    elif line.requestId is not None:
        record.dedup_key = f"request\x1f{line.requestId}"
    return record


def _openai_writes(usage: Usage, details: TokenDetails | None) -> tuple[int | None, int | None]:
    """(cache writes, of which 1-hour) inside the prompt tokens; None when unreported.

    OpenAI's newer models report `cache_write_tokens`; LiteLLM's ModelResponse carries
    Anthropic's `cache_creation_input_tokens` and its TTL split."""
    write = details.cache_write_tokens if details else None
    if write is None and details is not None:
        write = details.cache_creation_tokens
    if write is None:
        write = usage.cache_creation_input_tokens
    creation: CacheCreation | None = usage.cache_creation or (
        details.cache_creation_token_details if details else None)
    return write, creation.ephemeral_1h_input_tokens if creation else None


def _openai(line: Line, usage: Usage) -> Record:
    details = usage.prompt_tokens_details or usage.input_tokens_details
    prompt = usage.prompt_tokens if usage.prompt_tokens is not None else usage.input_tokens
    output = usage.completion_tokens if usage.completion_tokens is not None else (
        usage.output_tokens)
    read = details.cached_tokens if details else None
    if read is None:
        read = usage.cache_read_input_tokens
    write, write_1h = _openai_writes(usage, details)
    uncached = None
    if read is not None and prompt is not None:
        if read + (write or 0) > prompt:
            raise LineError(f"cached tokens ({read}) and cache writes ({write or 0}) exceed "
                            f"the prompt tokens ({prompt})")
        uncached = prompt - read - (write or 0)
    else:
        read = write = write_1h = None
    created = line.created if line.created is not None else line.created_at
    return Record(
        format="openai",
        time=float(created) if created is not None else epoch(line.timestamp),
        workflow=line.workflow,
        phase=line.phase,
        prompt_id=line.prompt_id,
        model=line.model,
        uncached_input=uncached,
        cache_read=read,
        cache_write=write,
        cache_write_1h=write_1h,
        output_tokens=output,
        prompt_cache_hit=None if read is None else read > 0,
        cost=line.cost_usd,
    )


def _spend_metadata(metadata: SpendMetadata | str | None) -> SpendMetadata | None:
    if isinstance(metadata, str):
        try:
            return _METADATA.decode(metadata)
        except (msgspec.DecodeError, UnicodeEncodeError) as exc:
            raise LineError("metadata is a string but not a JSON object of metadata: "
                            + describe(exc)) from None
    return metadata


def _request_tags(tags: list[str] | str | None) -> list[str]:
    if isinstance(tags, str):
        try:
            return _TAGS.decode(tags)
        except (msgspec.DecodeError, UnicodeEncodeError) as exc:
            raise LineError("request_tags is a string but not a JSON list of strings: "
                            + describe(exc)) from None
    return tags or []


def _tag_value(tags: list[str], prefix: str) -> str | None:
    return next((tag[len(prefix):] for tag in tags if tag.startswith(prefix)), None)


def _litellm_tokens(line: Line, extra: Usage | None) -> tuple[
        int | None, int | None, int | None, int | None]:
    """(uncached, read, write, 1h write) from a SpendLogs row; all None if unreported.

    LiteLLM copies the provider's cache counts into `additional_usage_values`: the
    Anthropic names at its top, or OpenAI's `prompt_tokens_details.cached_tokens`.
    Current LiteLLM counts reads and writes inside `prompt_tokens`; releases before
    2025 left the writes out, which shows as read + write > prompt_tokens.
    """
    prompt = line.prompt_tokens
    if extra is None or prompt is None:
        return None, None, None, None
    details = extra.prompt_tokens_details
    read = extra.cache_read_input_tokens
    write = extra.cache_creation_input_tokens
    if read is None and details is not None:
        read = details.cached_tokens
    if write is None and details is not None:
        write = details.cache_creation_tokens
    if read is None and write is None:
        return None, None, None, None
    read, write = read or 0, write or 0
    write_1h = None
    if extra.cache_creation is not None:
        write_1h = extra.cache_creation.ephemeral_1h_input_tokens
    if write_1h is None and details is not None and (
            details.cache_creation_token_details is not None):
        # Where LiteLLM puts Anthropic's 1-hour writes today.
        write_1h = details.cache_creation_token_details.ephemeral_1h_input_tokens
    if details is not None and details.text_tokens is not None:
        uncached = details.text_tokens
    elif read + write <= prompt:
        uncached = prompt - read - write
    elif read <= prompt:
        uncached = prompt - read
    else:
        raise LineError(f"cache read tokens ({read}) exceed prompt_tokens ({prompt})")
    return uncached, read, write, write_1h


def _litellm(line: Line) -> Record:
    metadata = _spend_metadata(line.metadata)
    tags = _request_tags(line.request_tags)
    extra = metadata.additional_usage_values if metadata else None
    uncached, read, write, write_1h = _litellm_tokens(line, extra)
    response = _litellm_response_cache(line.cache_hit, line.cache_key)
    return Record(
        format="litellm",
        time=epoch(line.startTime),
        workflow=_tag_value(tags, "workflow:") or _tag_value(tags, "skill:"),
        phase=_tag_value(tags, "phase:"),
        prompt_id=_tag_value(tags, "prompt:"),
        model=line.model or line.model_group,
        uncached_input=uncached,
        cache_read=read,
        cache_write=write,
        cache_write_1h=write_1h,
        output_tokens=line.completion_tokens,
        prompt_cache_hit=None if read is None else read > 0,
        response_cache=response,
        cost=line.spend,
    )


def _litellm_response_cache(cache_hit: bool | str | None, cache_key: str | None) -> str | None:
    """LiteLLM's response cache: "hit", "miss", or None when none applies.

    `cache_key` "Cache OFF" means no response cache applied; `cache_hit` "True" is a
    hit. With a response cache configured (any other, non-empty `cache_key`),
    anything else is a miss: LiteLLM writes "None" for a non-streaming miss and
    "False" for a streaming one. Without a `cache_key`, only "False" says miss.
    """
    if cache_key == "Cache OFF":
        return None
    said = cache_hit.strip().lower() if isinstance(cache_hit, str) else cache_hit
    if said is True or said == "true":
        return "hit"
    if cache_key or said is False or said == "false":
        return "miss"
    return None


_LENIENT_AT = re.compile(r" - at `\$\.(\w+)`")


def _lenient_field(exc: msgspec.ValidationError, decoders: Decoders) -> str | None:
    """The top-level lenient field a type error is in, if it is one not yet left out."""
    found = _LENIENT_AT.search(str(exc))
    if found and found.group(1) in LENIENT_FIELDS and found.group(1) not in decoders.skipped:
        return found.group(1)
    return None


def read_line(raw: bytes, decoders: Decoders) -> Record | None:
    """Decode and normalise one line: a first look as a backlog line, the rest in full.

    Invalid UTF-8 anywhere makes the line bad, even in a field no format uses (msgspec
    skips such values unchecked). A line whose only type errors are in lenient fields
    is decoded again without them (see `lines`)."""
    if not raw.isascii():
        raw.decode()
    while True:
        try:
            first = decoders.backlog.decode(raw)
            if first.other_format:
                return normalise(decoders.general.decode(raw))
            return normalise_plain(first)
        except msgspec.ValidationError as exc:
            field_name = _lenient_field(exc, decoders)
            if field_name is None:
                raise
            decoders = decoders.without(field_name)
