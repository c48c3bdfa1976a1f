"""`litellm`: a row of the LiteLLM proxy's `LiteLLM_SpendLogs` table, exported as JSON
(one row a line; `cache-gate` also reads the table itself, see `ledger.postgres`).

Recognised by `request_id` together with `call_type`.

- `cache_hit` is LiteLLM's RESPONSE cache, not the provider's prompt cache:
  `"True"` is a hit; with a response cache configured (`cache_key` set and not
  `"Cache OFF"`) anything else is a miss (`"None"` for a non-streaming call,
  `"False"` for a streaming one); `"Cache OFF"` means none applied.
- Prompt-cache tokens are in `metadata.additional_usage_values` (an object, or the
  same as a JSON string): Anthropic's names at its top, or OpenAI's
  `prompt_tokens_details.cached_tokens`; 1-hour writes also under
  `prompt_tokens_details.cache_creation_token_details`. Current LiteLLM counts reads
  and writes inside `prompt_tokens`; releases before 2025 left the writes out (read
  + write > prompt_tokens shows it).
- LiteLLM writes `cache_read_input_tokens: 0` when the provider sent no cache
  fields: an unknown upstream is a zero before cache-gate sees it.
- The workflow, phase and prompt come from `request_tags` (`workflow:X` or
  `skill:X`, `phase:X`, `prompt:X`); the time from `startTime` (no offset: UTC).
- `session_id` is the request's session: the caller's where one was sent (`x-litellm-
  session-id`, `metadata.session_id`, `litellm_session_id`); otherwise LiteLLM writes
  an id of that request alone (its trace id), so each such row is a session of one
  (its misses are `cold`), unless `general_settings.missing_session_id: omit` leaves
  it null. Source: LiteLLM 1.110 `spend_tracking_utils._get_session_id_for_spend_log`
  and `missing_session_id`; https://docs.litellm.ai/docs/proxy/ui_logs_sessions.

Source: LiteLLM, "Logging spec" / SpendLogs, https://docs.litellm.ai/docs/proxy/logging_spec,
and "Prompt caching", https://docs.litellm.ai/docs/completion/prompt_caching; rows
checked against LiteLLM 1.110's own `get_logging_payload` (facts/providers.md).
"""

from __future__ import annotations

import msgspec

from cache_gate.ledger.formats.fields import epoch, session_name
from cache_gate.ledger.line_errors import LineError, describe
from cache_gate.ledger.lines import Line, SpendMetadata, Usage
from cache_gate.ledger.record import Record

NAME = "litellm"

_METADATA = msgspec.json.Decoder(SpendMetadata)
_TAGS = msgspec.json.Decoder(list[str])


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


def normalise(line: Line) -> Record:
    metadata = _spend_metadata(line.metadata)
    tags = _request_tags(line.request_tags)
    extra = metadata.additional_usage_values if metadata else None
    uncached, read, write, write_1h = _litellm_tokens(line, extra)
    response = _litellm_response_cache(line.cache_hit, line.cache_key)
    return Record(
        format=NAME,
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
        # The `session_id` column: the caller's session where one was sent, else (by
        # default) the request's own trace id, a new one per request.
        session=session_name(line.session_id),
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


def claims(line: Line) -> bool:
    """A SpendLogs row: `request_id` and `call_type`."""
    return line.request_id is not None and line.call_type is not None


def read(line: Line) -> Record:
    return normalise(line)
