"""Builders of ledger lines in each supported format, for readable tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Line = dict[str, Any]


def backlog(**fields: Any) -> Line:
    """A line of the seed's own ledger (cached_input_tokens is part of input_tokens)."""
    line: Line = {
        "timestamp": "2026-11-20T10:00:00Z",
        "workflow": "implementer",
        "phase": "implement",
        "ticket_id": "BL-1",
        "model_alias": "balanced",
        "provider": "anthropic",
        "model": "claude-sonnet-4-6",
        "input_tokens": 1000,
        "output_tokens": 100,
        "cached_input_tokens": 800,
        "cost_usd": 0.01,
        "cache_hit": True,
        "batch_job_id": None,
        "escalation_reason": None,
        "status": "ok",
    }
    line.update(fields)
    return {key: value for key, value in line.items() if value is not ...}


def anthropic(input_tokens: int = 100, read: int | None = 900, write: int | None = 0,
              **fields: Any) -> Line:
    """A Messages API response: input_tokens EXCLUDES cache reads and writes."""
    usage: dict[str, Any] = {"input_tokens": input_tokens, "output_tokens": 50}
    if read is not None:
        usage["cache_read_input_tokens"] = read
    if write is not None:
        usage["cache_creation_input_tokens"] = write
    line: Line = {"id": "msg_01", "type": "message", "role": "assistant",
                  "model": "claude-sonnet-4-6", "content": [], "usage": usage}
    line.update(fields)
    return line


def openai_chat(prompt_tokens: int = 1000, cached: int | None = 600, **fields: Any) -> Line:
    """A chat completion: prompt_tokens INCLUDES the cached tokens."""
    usage: dict[str, Any] = {"prompt_tokens": prompt_tokens, "completion_tokens": 20,
                             "total_tokens": prompt_tokens + 20}
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached, "audio_tokens": 0}
    line: Line = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1795600000,
                  "model": "gpt-4.1", "usage": usage}
    line.update(fields)
    return line


def openai_responses(input_tokens: int = 1000, cached: int = 0, **fields: Any) -> Line:
    """A Responses API response: input_tokens INCLUDES the cached tokens."""
    line: Line = {"id": "resp_1", "object": "response", "created_at": 1795600000.5,
                  "model": "gpt-4.1", "usage": {
                      "input_tokens": input_tokens, "output_tokens": 10,
                      "input_tokens_details": {"cached_tokens": cached},
                      "output_tokens_details": {"reasoning_tokens": 0}}}
    line.update(fields)
    return line


def litellm(prompt_tokens: int = 1000, read: int | None = 700, write: int | None = 100,
            cache_hit: str = "False", cache_key: str = "abc123", tags: list[str] | None = None,
            metadata_as_string: bool = False, **fields: Any) -> Line:
    """A LiteLLM SpendLogs row: prompt_tokens INCLUDES cache reads and writes;
    cache_hit is LiteLLM's response cache."""
    extra: dict[str, Any] = {}
    if read is not None:
        extra["cache_read_input_tokens"] = read
    if write is not None:
        extra["cache_creation_input_tokens"] = write
    metadata: Any = {"user_api_key_alias": "ci", "additional_usage_values": extra}
    if metadata_as_string:
        metadata = json.dumps(metadata)
    line: Line = {
        "request_id": "chatcmpl-abc", "call_type": "acompletion", "api_key": "hashed",
        "spend": 0.002, "total_tokens": prompt_tokens + 30, "prompt_tokens": prompt_tokens,
        "completion_tokens": 30, "startTime": "2026-11-20T10:00:00.123",
        "endTime": "2026-11-20T10:00:02.000", "model": "claude-sonnet-4-6",
        "model_group": "balanced", "metadata": metadata, "cache_hit": cache_hit,
        "cache_key": cache_key, "request_tags": tags if tags is not None else ["workflow:review"],
        "status": "success",
    }
    line.update(fields)
    return line


def claude_code(message_id: str = "msg_01", request_id: str = "req_01", input_tokens: int = 10,
                read: int = 5000, write: int = 200, output_tokens: int = 40,
                **fields: Any) -> Line:
    """An assistant line of a Claude Code transcript (one per content block)."""
    line: Line = {
        "parentUuid": None, "isSidechain": False, "userType": "external", "cwd": "/repo",
        "sessionId": "sess-1", "version": "2.0.0", "type": "assistant", "uuid": "u-1",
        "timestamp": "2026-11-20T10:00:00.000Z", "requestId": request_id,
        "message": {"id": message_id, "type": "message", "role": "assistant",
                    "model": "claude-opus-4-6", "content": [{"type": "text", "text": "hi"}],
                    "usage": {"input_tokens": input_tokens, "cache_creation_input_tokens": write,
                              "cache_read_input_tokens": read, "output_tokens": output_tokens,
                              "service_tier": "standard"}},
    }
    line.update(fields)
    return line


def jsonl(*lines: Line | str) -> str:
    """Lines as JSONL text; a str is written as it is (for malformed lines)."""
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)


def write_ledger(path: Path, *lines: Line | str) -> Path:
    path.write_text(jsonl(*lines), encoding="utf-8")
    return path
