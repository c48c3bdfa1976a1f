"""`anthropic`: a Claude Messages API response, or its bare `usage` object.

Recognised by a `usage` with `cache_read_input_tokens` or
`cache_creation_input_tokens` (or a response whose `type` is "message"), or by those
fields at the top of a line (a bare `usage` logged on its own). Claude on Vertex AI
and Bedrock's InvokeModel return the same shape.

- `input_tokens` EXCLUDES cache reads and writes: uncached = input_tokens, and the
  request's input is input + `cache_read_input_tokens` + `cache_creation_input_tokens`.
- `cache_creation.ephemeral_5m_input_tokens` / `ephemeral_1h_input_tokens` split the
  writes by TTL (a 1-hour write costs 2x the base input price, a 5-minute one 1.25x),
  in a bare `usage` too.
- A response without the cache fields reports no prompt caching (unknown, not zero).
- With cache diagnostics (the request names `diagnostics.previous_message_id`; beta
  header `cache-diagnosis-2026-04-07`; Claude API only),
  `diagnostics.cache_miss_reason.type` is the provider's own cause of a miss
  (`model_changed`, `system_changed`, `tools_changed`, `messages_changed`,
  `previous_message_not_found`, `unavailable`), kept by name; null (none asked for, no
  divergence, still pending), another shape or a name that is not a short identifier
  is none. Source: https://platform.claude.com/docs/en/build-with-claude/cache-
  diagnostics; shape checked against anthropic 2.16's `Message.diagnostics`.
- An application's `session_id` and `cache_miss_reason` logged beside the response are
  read as a backlog record's are; the provider's own diagnosis wins.

Source: Anthropic, "Prompt caching", https://platform.claude.com/docs/en/build-with-claude/prompt-caching
(the usage fields and their sum), and "Pricing" for the multipliers.
"""

from __future__ import annotations

import msgspec

from cache_gate.ledger.formats.fields import epoch, lenient, plain, request_record
from cache_gate.ledger.lines import ABSENT, BacklogLine, Diagnostics, Line, Usage
from cache_gate.ledger.record import Record

NAME = "anthropic"

_DIAGNOSTICS = msgspec.json.Decoder(Diagnostics)


def tokens(usage: Usage) -> tuple[int | None, int | None, int | None, int | None]:
    """(uncached, read, write, 1h write) with Anthropic semantics; all None if unreported."""
    read = usage.cache_read_input_tokens
    write = usage.cache_creation_input_tokens
    if usage.input_tokens is None or (read is None and write is None):
        return None, None, None, None
    creation = usage.cache_creation
    write_1h = creation.ephemeral_1h_input_tokens if creation else None
    return usage.input_tokens, read or 0, write or 0, write_1h


def miss_reason(diagnostics: msgspec.Raw) -> str | None:
    """The cause `diagnostics.cache_miss_reason.type` names; None when there is none
    (no diagnostics asked for, no divergence found, a diagnosis still pending: null),
    or when it is not a `lines.CauseName` (a wrong one is unknown, never bad)."""
    found = lenient(_DIAGNOSTICS, diagnostics)
    reason = found.cache_miss_reason if found is not None else None
    return reason.type if reason is not None else None


def normalise(line: BacklogLine | Line, usage: Usage, fmt: str = NAME, *,
              diagnostics: msgspec.Raw = ABSENT, session: str | None = None) -> Record:
    uncached, read, write, write_1h = tokens(usage)
    return request_record(line, fmt, time=epoch(line.timestamp), model=line.model,
                          uncached=uncached, read=read, write=write, write_1h=write_1h,
                          output=usage.output_tokens, session=session,
                          miss_reason=miss_reason(diagnostics))


def claims(line: Line) -> bool:
    """A response `usage` with the cache fields (or a response of `type` "message"),
    unless it counts its prompt OpenAI's way; or a bare usage: those fields at the top."""
    usage = line.usage
    if plain(line) or usage is None:
        return (line.cache_read_input_tokens is not None
                or line.cache_creation_input_tokens is not None)
    # LiteLLM's ModelResponse adds the Anthropic names beside OpenAI's `prompt_tokens`
    # but counts them inside it: that is OpenAI's shape.
    if usage.prompt_tokens is not None and usage.input_tokens is None:
        return False
    return (usage.cache_read_input_tokens is not None
            or usage.cache_creation_input_tokens is not None or line.type == "message")


def read(line: Line) -> Record:
    if plain(line) or line.usage is None:
        return read_bare(line)
    return normalise(line, line.usage, diagnostics=line.diagnostics)


def read_bare(line: BacklogLine | Line) -> Record:
    """A bare usage object logged on its own: its fields at the top of the line."""
    return normalise(line, Usage(
        input_tokens=line.input_tokens,
        output_tokens=line.output_tokens,
        cache_read_input_tokens=line.cache_read_input_tokens,
        cache_creation_input_tokens=line.cache_creation_input_tokens,
        cache_creation=line.cache_creation,
    ))
