"""`openai`: an OpenAI chat completion or Responses API response (and anything that
answers in its shape, such as a LiteLLM `ModelResponse` dump).

Recognised by `usage.prompt_tokens` without `usage.input_tokens` (chat completions,
LiteLLM's `ModelResponse`), or by `usage.prompt_tokens_details` /
`usage.input_tokens_details`, or an `object` of "chat.completion" or "response".

- `prompt_tokens` (chat completions) / `input_tokens` (Responses API) INCLUDE the
  cached tokens, `prompt_tokens_details.cached_tokens` /
  `input_tokens_details.cached_tokens`: uncached = prompt - cached.
- Newer models also report `cache_write_tokens` in the same details object, inside
  the prompt tokens too: uncached = prompt - cached - cache_write. Older models
  report no writes (they have no write fee): `cache_write` is then unknown.
- A LiteLLM `ModelResponse` adds Anthropic's names beside `prompt_tokens`
  (`cache_read_input_tokens`, `cache_creation_input_tokens`, the TTL split under
  `prompt_tokens_details.cache_creation_token_details`) and counts them inside it.
- The time is `created` (chat completions) or `created_at` (Responses), in seconds.
- Responses API (GPT-5.6 and later): with
  `prompt_cache_options.comparison_response_id`, `prompt_cache_diagnostics.type` says
  what the comparison found (`cache_miss`, `cache_hit`,
  `comparison_response_not_found`, `unavailable`); only a `cache_miss` names a cause,
  `reason` (`model_changed`, `prompt_cache_key_changed`, `tools_changed`,
  `input_changed`, ...), kept by name. Source:
  https://developers.openai.com/api/docs/guides/prompt-caching/diagnostics; shape
  checked against openai 3.60's `Response.prompt_cache_diagnostics`.
- An application's `session_id` and `cache_miss_reason` logged beside the response are
  read as a backlog record's are; the provider's own diagnosis wins.

Source: OpenAI, "Prompt caching", https://platform.openai.com/docs/guides/prompt-caching,
and the API reference's usage objects; LiteLLM, https://docs.litellm.ai/docs/completion/prompt_caching.
"""

from __future__ import annotations

import msgspec

from cache_gate.ledger.formats.fields import lenient, plain, request_record, response_time
from cache_gate.ledger.line_errors import LineError
from cache_gate.ledger.lines import (
    CacheCreation,
    Line,
    PromptCacheDiagnostics,
    TokenDetails,
    Usage,
)
from cache_gate.ledger.record import Record

NAME = "openai"

_DIAGNOSTICS = msgspec.json.Decoder(PromptCacheDiagnostics)
# The `type` of a diagnosis that found a miss, the only one that names a `reason`.
_CACHE_MISS = "cache_miss"


def miss_reason(diagnostics: msgspec.Raw) -> str | None:
    """The cause `prompt_cache_diagnostics` names: its `reason`. `type` is what the
    comparison found, not why: "cache_hit" has no cause, and
    "comparison_response_not_found" / "unavailable" say no diagnosis was made, so
    they leave the cause to cache-gate's own analysis. None too for a reason that
    is not a `lines.CauseName` (a wrong one is unknown, never bad)."""
    found = lenient(_DIAGNOSTICS, diagnostics)
    if found is None or found.type not in (_CACHE_MISS, None):
        return None
    return found.reason


def _writes(usage: Usage, details: TokenDetails | None) -> tuple[int | None, int | None]:
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


def normalise(line: Line, usage: Usage) -> Record:
    details = usage.prompt_tokens_details or usage.input_tokens_details
    prompt = usage.prompt_tokens if usage.prompt_tokens is not None else usage.input_tokens
    output = usage.completion_tokens if usage.completion_tokens is not None else (
        usage.output_tokens)
    read = details.cached_tokens if details else None
    if read is None:
        read = usage.cache_read_input_tokens
    write, write_1h = _writes(usage, details)
    uncached = None
    if read is not None and prompt is not None:
        if read + (write or 0) > prompt:
            raise LineError(f"cached tokens ({read}) and cache writes ({write or 0}) exceed "
                            f"the prompt tokens ({prompt})")
        uncached = prompt - read - (write or 0)
    else:
        read = write = write_1h = None
    return request_record(line, NAME, time=response_time(line), model=line.model,
                          uncached=uncached, read=read, write=write, write_1h=write_1h,
                          output=output, miss_reason=miss_reason(line.prompt_cache_diagnostics))


def claims(line: Line) -> bool:
    """A response `usage` counting `prompt_tokens` without `input_tokens` (Chat
    Completions, LiteLLM's ModelResponse), or with token details, or a response whose
    `object` is "chat.completion" or "response" (checked after `anthropic`)."""
    usage = line.usage
    if plain(line) or usage is None:
        return False
    return ((usage.prompt_tokens is not None and usage.input_tokens is None)
            or usage.prompt_tokens_details is not None
            or usage.input_tokens_details is not None
            or line.object in ("chat.completion", "response"))


def read(line: Line) -> Record:
    assert line.usage is not None
    return normalise(line, line.usage)
