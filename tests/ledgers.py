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


def bedrock_converse(input_tokens: int = 12, read: int | None = 3000, write: int | None = 1100,
                     details: list[dict[str, Any]] | None = None, **fields: Any) -> Line:
    """What boto3's `bedrock-runtime` `converse()` returns, as json.dumps writes it
    (botocore's parser on the service's JSON): `inputTokens` EXCLUDES cache reads and
    writes; `cacheDetails` splits the writes by TTL."""
    usage: dict[str, Any] = {"inputTokens": input_tokens, "outputTokens": 40,
                             "totalTokens": input_tokens + (read or 0) + (write or 0) + 40}
    if read is not None:
        usage["cacheReadInputTokens"] = read
    if write is not None:
        usage["cacheWriteInputTokens"] = write
    if details is not None:
        usage["cacheDetails"] = details
    request_id = "7e2b1f5c-0000-4000-8000-000000000001"
    line: Line = {
        "ResponseMetadata": {"RequestId": request_id, "HTTPStatusCode": 200,
                             "HTTPHeaders": {"x-amzn-requestid": request_id,
                                             "content-type": "application/json"},
                             "RetryAttempts": 0},
        "output": {"message": {"role": "assistant", "content": [{"text": "Hello"}]}},
        "stopReason": "end_turn", "usage": usage, "metrics": {"latencyMs": 812},
    }
    line.update(fields)
    return line


def bedrock_log(input_tokens: int = 12, read: int | None = 3000, write: int | None = 0,
                output_usage: dict[str, Any] | None = None, **fields: Any) -> Line:
    """A Bedrock model-invocation log record (CloudWatch Logs / S3), as AWS's sample
    record has it, with the cache counts under `input`."""
    given: dict[str, Any] = {
        "inputContentType": "application/json",
        "inputBodyJson": {"messages": [{"role": "user", "content": [{"text": "Review this."}]}],
                          "system": [{"text": "You review diffs."},
                                     {"cachePoint": {"type": "default"}}]},
        "inputTokenCount": input_tokens}
    if read is not None:
        given["cacheReadInputTokenCount"] = read
    if write is not None:
        given["cacheWriteInputTokenCount"] = write
    line: Line = {
        "schemaType": "ModelInvocationLog", "schemaVersion": "1.0",
        "timestamp": "2026-11-20T10:00:00Z", "accountId": "123456789012",
        "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/app/session"},
        "region": "us-east-1", "requestId": "915a6a04-3f83-4c70-a277-7fbf7ea546b3",
        "operation": "Converse", "modelId": "us.anthropic.claude-sonnet-4-6-v1:0",
        "input": given,
        "output": {"outputContentType": "application/json", "outputBodyJson": {
            "output": {"message": {"role": "assistant", "content": [{"text": "Looks fine."}]}},
            "stopReason": "end_turn", "metrics": {"latencyMs": 3640},
            "usage": output_usage if output_usage is not None else {
                "inputTokens": input_tokens, "outputTokens": 446,
                "totalTokens": input_tokens + 446}},
            "outputTokenCount": 446},
        "requestMetadata": {"traceId": "b956002a-fd01-47ba-9da7-07e4c9b1a6b6"},
    }
    line.update(fields)
    return line


def gemini(prompt: int = 5200, cached: int | None = 4096, **fields: Any) -> Line:
    """A Gemini API `generateContent` response as REST returns it: `promptTokenCount`
    INCLUDES `cachedContentTokenCount`, and a zero count is left out."""
    usage: dict[str, Any] = {"promptTokenCount": prompt, "candidatesTokenCount": 40,
                             "totalTokenCount": prompt + 40,
                             "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}
    if cached:
        usage["cachedContentTokenCount"] = cached
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    line: Line = {"candidates": [{"content": {"parts": [{"text": "Hi"}], "role": "model"},
                                  "finishReason": "STOP", "index": 0}],
                  "usageMetadata": usage, "modelVersion": "gemini-2.5-flash",
                  "responseId": "abc123"}
    line.update(fields)
    return line


def gemini_sdk(prompt: int = 5200, cached: int | None = 4096, **fields: Any) -> Line:
    """The same response from the google-genai SDK: `GenerateContentResponse.
    model_dump_json()` writes snake_case, every field, null where the API sent none."""
    line: Line = {
        "sdk_http_response": None,
        "candidates": [{"content": {"parts": [{"text": "Hi", "thought": None,
                                               "thought_signature": None}],
                                    "role": "model"},
                        "citation_metadata": None, "finish_reason": "STOP", "index": 0,
                        "safety_ratings": None}],
        "create_time": None, "model_version": "gemini-2.5-flash", "prompt_feedback": None,
        "response_id": "abc123",
        "usage_metadata": {
            "cache_tokens_details": None if cached is None else [
                {"modality": "TEXT", "token_count": cached}],
            "cached_content_token_count": cached, "candidates_token_count": 40,
            "candidates_tokens_details": None, "prompt_token_count": prompt,
            "prompt_tokens_details": [{"modality": "TEXT", "token_count": prompt}],
            "thoughts_token_count": None, "tool_use_prompt_token_count": None,
            "tool_use_prompt_tokens_details": None, "total_token_count": prompt + 40,
            "traffic_type": None},
        "model_status": None, "automatic_function_calling_history": None, "parsed": None,
    }
    line.update(fields)
    return line


def deepseek(prompt_tokens: int = 5120, hit: int | None = 4864, miss: int | None = 256,
             **fields: Any) -> Line:
    """A DeepSeek chat completion as the openai SDK dumps it (`model_dump_json()`):
    `prompt_tokens` = `prompt_cache_hit_tokens` + `prompt_cache_miss_tokens`."""
    usage: dict[str, Any] = {
        "completion_tokens": 30, "prompt_tokens": prompt_tokens,
        "total_tokens": prompt_tokens + 30, "completion_tokens_details": None,
        "prompt_tokens_details": {"audio_tokens": None, "cache_write_tokens": None,
                                  "cached_tokens": hit, "image_tokens": None,
                                  "text_tokens": None}}
    if hit is not None:
        usage["prompt_cache_hit_tokens"] = hit
    if miss is not None:
        usage["prompt_cache_miss_tokens"] = miss
    line: Line = {
        "id": "8c1b2f4e-0000-4000-8000-000000000001",
        "choices": [{"finish_reason": "stop", "index": 0, "logprobs": None,
                     "message": {"content": "Hi", "refusal": None, "role": "assistant"}}],
        "created": 1795600000, "model": "deepseek-chat", "object": "chat.completion",
        "metadata": None, "service_tier": None,
        "system_fingerprint": "fp_ffc7281d48_prod0820_fp8_kvcache", "usage": usage,
    }
    line.update(fields)
    return line


def usage_row(uncached: int = 1500, read: int = 120000, write_5m: int = 8000,
              write_1h: int = 20000, model: str | None = "claude-sonnet-4-6") -> Line:
    """One row of a usage-report bucket's `results`, as the anthropic SDK dumps it."""
    return {"cache_creation": {"ephemeral_1h_input_tokens": write_1h,
                               "ephemeral_5m_input_tokens": write_5m},
            "cache_read_input_tokens": read, "context_window": None, "inference_geo": None,
            "model": model, "output_tokens": 4000, "requests": None,
            "server_tool_use": {"web_search_requests": 0}, "service_tier": None,
            "uncached_input_tokens": uncached, "workspace_id": None}


def usage_report(*rows: Line, starting_at: str = "2026-11-20T00:00:00Z",
                 **fields: Any) -> Line:
    """A bucket of Anthropic's Usage & Cost Admin API (many requests' tokens)."""
    line: Line = {"ending_at": "2026-11-21T00:00:00Z",
                  "results": list(rows) if rows else [usage_row()],
                  "starting_at": starting_at}
    line.update(fields)
    return line


def jsonl(*lines: Line | str) -> str:
    """Lines as JSONL text; a str is written as it is (for malformed lines)."""
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)


def write_ledger(path: Path, *lines: Line | str) -> Path:
    path.write_text(jsonl(*lines), encoding="utf-8")
    return path
