"""`backlog`: the seed toolkit's own usage ledger, one record per request.

Recognised by any of `cache_hit`, `cached_input_tokens` or `model_alias`, whatever
else the line holds (only a LiteLLM row and a Claude Code transcript line keep their
own format), or by `workflow` on a line without a provider's `usage` object: a
Gemini response, a Bedrock log record or a usage-report bucket with a `workflow`
added beside it is read as a backlog record, while an Anthropic, OpenAI, Bedrock
Converse or DeepSeek response with a `workflow` beside its `usage` stays that
provider's response.

- `cached_input_tokens` is a part of `input_tokens`: uncached = input - cached.
- With the Anthropic fields (`cache_read_input_tokens` / `cache_creation_input_tokens`)
  the record has Anthropic semantics: `input_tokens` is the uncached part only.
- An explicit `cache_hit` (true/false) decides whether the request hit the prompt
  cache; without one, cache read tokens > 0 do.
- `response_cache` / `semantic_cache` `{"status": "hit"|"miss"|"bypass", "useful"}`
  describe the other cache layers.
- `prompt_id`, `prefix_sha256` and `request_sha256` feed the report's breakdowns,
  runtime prefix drift (CG205) and duplicate spend, and doctor's workload checks.
- `session_id` is the request's session; `cache_miss_reason` the cause of a miss as
  the application recorded it, kept by name when it is a short identifier
  (`[a-z][a-z0-9_]{0,63}`), else unknown; `semantic_cache.similarity` is the semantic
  cache's score. A wrong value in any of them is unknown, never a bad line.

Source: the seed's schema, `seed/cache-optimization-runbook.md` and DESIGN.md ("The
usage ledger").
"""

from __future__ import annotations

import math
from datetime import UTC

import msgspec

from cache_gate.ledger.formats.fields import lenient, plain
from cache_gate.ledger.line_errors import LineError
from cache_gate.ledger.lines import BacklogLine, Line, SemanticCacheLayer
from cache_gate.ledger.record import Record

NAME = "backlog"

_SCORE = msgspec.json.Decoder(float)


def is_backlog(line: BacklogLine | Line) -> bool:
    return (
        line.cache_hit is not None
        or line.cached_input_tokens is not None
        or line.model_alias is not None
        or line.workflow is not None
    )


def normalise(line: BacklogLine | Line) -> Record:
    cache_hit = line.cache_hit
    if isinstance(cache_hit, str):
        raise LineError(f"cache_hit must be true, false or null, got {cache_hit!r}")
    read = line.cache_read_input_tokens
    write = line.cache_creation_input_tokens
    uncached = line.input_tokens
    write_1h = None
    if read is not None or write is not None:
        # Anthropic semantics: input_tokens is the uncached part only; a bare usage
        # object logged with a workflow keeps its TTL split of the writes.
        read = read or 0
        write = write or 0
        if line.cache_creation is not None:
            write_1h = line.cache_creation.ephemeral_1h_input_tokens
    else:
        read = line.cached_input_tokens
        write = None
        if read is not None and uncached is not None:
            if read > uncached:
                raise LineError(
                    f"cached_input_tokens ({read}) exceeds input_tokens ({uncached})")
            uncached -= read
        else:
            uncached = read = None
    if cache_hit is None and read is not None:
        cache_hit = read > 0
    if uncached is None:  # the cache's tokens are known only beside the input's
        read = write = write_1h = None
    # `fields.epoch`, inline: the report's hot path makes a Record of every line.
    moment = line.timestamp
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    response = line.response_cache
    semantic = line.semantic_cache
    # Positional: the hot path of the commonest format (keywords cost 4x here).
    return Record(
        "backlog",                  # format
        None if moment is None else moment.timestamp(),  # time
        line.workflow,              # workflow
        line.phase,                 # phase
        line.prompt_id,             # prompt_id
        line.model,                 # model
        uncached,                   # uncached_input
        read,                       # cache_read
        write,                      # cache_write
        write_1h,                   # cache_write_1h
        line.output_tokens,         # output_tokens
        cache_hit,                  # prompt_cache_hit
        response.status if response else None,      # response_cache
        response.useful if response else None,      # response_useful
        semantic.status if semantic else None,      # semantic_cache
        semantic.useful if semantic else None,      # semantic_useful
        line.cost_usd,              # cost
        line.prefix_sha256,         # prefix_sha256
        line.request_sha256,        # request_sha256
        line.session_id or None,    # session (an empty id names none)
        line.cache_miss_reason,     # miss_reason
        None if semantic is None else similarity(semantic),  # semantic_similarity
    )


def similarity(semantic: SemanticCacheLayer | None) -> float | None:
    """`semantic_cache.similarity`, read leniently: a score that is not a finite
    number is unknown, and no line is bad for it."""
    if semantic is None:
        return None
    score = lenient(_SCORE, semantic.similarity)
    return score if score is not None and math.isfinite(score) else None


def claims(line: Line) -> bool:
    """A flat line with one of backlog's own fields."""
    return plain(line) and is_backlog(line)


def read(line: Line) -> Record:
    return normalise(line)
