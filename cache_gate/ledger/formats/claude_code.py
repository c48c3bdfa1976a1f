"""`claude-code`: a line of a Claude Code session transcript
(`~/.claude/projects/<project>/<session>.jsonl`).

Recognised by a `message` object together with `requestId` or `sessionId`.

- `message.usage` has Anthropic semantics (see `anthropic`): `input_tokens`
  EXCLUDES cache reads and writes.
- Claude Code writes one line per content block, each with the request's usage, and
  a subagent (sidechain) transcript may replay a message under another `requestId`:
  one API response is one request, identified by `message.id` (else `requestId`);
  the line reporting the most tokens is kept, else the first, and the request counts
  where its first line is. The reader holds a request open for 4,096 records after
  its first line, then remembers only a hash of its key (bounded memory, see
  `ledger.requests`); a line that would win after that is counted
  (`late_winners`: the figures are approximate), not kept.
- Lines without `message.usage` (user turns, summaries) are not requests, nor are
  the assistant lines Claude Code writes itself for an API error
  (`message.model` `"<synthetic>"`, `isApiErrorMessage`).
- `sessionId` is the request's session; where the response in `message` carries
  `diagnostics`, `message.diagnostics.cache_miss_reason.type` is the cause of a miss,
  as for `anthropic` (not yet seen in a transcript: unconfirmed).

Source: Claude Code writes these files; there is no published schema. The fields
were checked against transcripts and ccusage's reading of them (facts/providers.md);
the usage object is Anthropic's, https://platform.claude.com/docs/en/build-with-claude/prompt-caching.
"""

from __future__ import annotations

from cache_gate.ledger.formats import anthropic
from cache_gate.ledger.lines import Line, Message, Usage
from cache_gate.ledger.record import Record

NAME = "claude-code"

# The model Claude Code names on the assistant lines it writes for an API error.
SYNTHETIC_MODEL = "<synthetic>"


def normalise(line: Line, usage: Usage, message: Message) -> Record:
    # The API's response is `message`: its `diagnostics` are there, where Claude
    # Code keeps them.
    record = anthropic.normalise(line, usage, NAME, diagnostics=message.diagnostics,
                                 session=line.sessionId)
    record.model = message.model
    record.dedup_key = request_key(message, line.requestId)
    return record


def request_key(message: Message, request_id: str | None) -> str | None:
    """The request a line is of (`Record.dedup_key`). Claude Code writes one line per
    content block, each with the request's usage, and a sidechain (subagent)
    transcript may replay a message under another requestId: one API response is one
    request, so `message.id` identifies it, else the `requestId`."""
    if message.id is not None:
        return f"message\x1f{message.id}"
    if request_id is not None:
        return f"request\x1f{request_id}"
    return None


def reported_tokens(usage: Usage) -> int:
    """The `token_total` of the record `normalise` makes of a line with this usage,
    without making it: what decides which of a request's lines is kept."""
    output = usage.output_tokens or 0
    uncached, read, write = (usage.input_tokens, usage.cache_read_input_tokens,
                             usage.cache_creation_input_tokens)
    if uncached is None or (read is None and write is None):
        return output  # no prompt caching reported: only the output counts
    return uncached + (read or 0) + (write or 0) + output


def transcript_record(time: float | None, session: str | None, message: Message,
                      key: str | None) -> Record:
    """The Record `normalise` makes of a line that decodes as a TranscriptLine (every
    other `Line` field absent), made directly from the line's time (its `timestamp`
    in epoch seconds), `sessionId` and `message` (with a usage); `key` is its
    `request_key`."""
    usage = message.usage
    assert usage is not None
    uncached, read, write, write_1h = anthropic.tokens(usage)
    return Record(
        NAME, time, model=message.model, uncached_input=uncached,
        cache_read=read, cache_write=write, cache_write_1h=write_1h,
        output_tokens=usage.output_tokens,
        prompt_cache_hit=None if read is None else read > 0, session=session or None,
        miss_reason=anthropic.miss_reason(message.diagnostics) if message.diagnostics
        else None, dedup_key=key)


def claims(line: Line) -> bool:
    """A transcript line: a `message` object beside a `requestId` or `sessionId`."""
    message = line.message
    return (message is not None and not isinstance(message, str)
            and (line.requestId is not None or line.sessionId is not None))


def read(line: Line) -> Record | None:
    """The assistant line's request; None for a user turn or an API error's line."""
    message = line.message
    assert message is not None and not isinstance(message, str)
    if message.usage is None or message.model == SYNTHETIC_MODEL:
        return None
    return normalise(line, message.usage, message)
