"""`deepseek`: a DeepSeek chat completion (OpenAI's shape, DeepSeek's cache fields).

Recognised by `usage.prompt_cache_hit_tokens` or `usage.prompt_cache_miss_tokens`
(checked before `openai`, which a DeepSeek response also resembles).

- `prompt_tokens` = `prompt_cache_hit_tokens` + `prompt_cache_miss_tokens`: the hit
  tokens were read from the context cache, the miss tokens were not. Where both are
  given they decide (a `prompt_tokens` at odds with them is not checked); where one
  is, the other is `prompt_tokens` minus it.
- Context caching is on by default and a miss is stored without a write fee:
  DeepSeek reports no write count (`cache_write` is unknown).
- The time is `created` (seconds), else a `timestamp` the application adds.
- An application's `session_id` and `cache_miss_reason` logged beside the response are
  read as a backlog record's are; the provider's own diagnosis wins.

Sources: DeepSeek, "Context Caching", https://api-docs.deepseek.com/guides/kv_cache
(caching on by default; the two usage fields), and the API reference, "Create Chat
Completion", https://api-docs.deepseek.com/api/create-chat-completion ("prompt_tokens
... equals prompt_cache_hit_tokens + prompt_cache_miss_tokens"; that page was read as
a client library quotes it, not directly). Newer responses also carry
`prompt_tokens_details.cached_tokens`, equal to the hit count; it is not read.
"""

from __future__ import annotations

from cache_gate.ledger.formats.fields import plain, request_record, response_time
from cache_gate.ledger.line_errors import LineError
from cache_gate.ledger.lines import Line, ResponseUsage
from cache_gate.ledger.record import Record

NAME = "deepseek"


def reports_usage(usage: ResponseUsage) -> bool:
    return usage.prompt_cache_hit_tokens is not None or usage.prompt_cache_miss_tokens is not None


def normalise(line: Line, usage: ResponseUsage) -> Record:
    hit, miss, prompt = (usage.prompt_cache_hit_tokens, usage.prompt_cache_miss_tokens,
                         usage.prompt_tokens)
    if hit is None or miss is None:
        given, name = (hit, "prompt_cache_hit_tokens") if hit is not None else (
            miss, "prompt_cache_miss_tokens")
        if prompt is None:
            hit = miss = None
        elif given is not None and given > prompt:
            raise LineError(f"{name} ({given}) exceeds prompt_tokens ({prompt})")
        elif hit is not None:
            miss = prompt - hit
        elif miss is not None:
            hit = prompt - miss
    return request_record(line, NAME, time=response_time(line), model=line.model,
                          uncached=miss, read=hit, output=usage.completion_tokens)


def claims(line: Line) -> bool:
    """A response whose `usage` has DeepSeek's hit or miss count."""
    return not plain(line) and line.usage is not None and reports_usage(line.usage)


def read(line: Line) -> Record:
    assert line.usage is not None
    return normalise(line, line.usage)
