"""Write examples/demo/.backlog-ops/usage-ledger.jsonl: a week of a small team's usage.

Deterministic (seeded), so the committed ledger can be regenerated exactly:
    python examples/generate_demo_ledger.py [OUTPUT]
It mixes the five formats cache-gate reads, the way a real ledger ends up
mixing them: the toolkit's own records, LiteLLM SpendLogs rows exported from the
proxy, a few raw Anthropic and OpenAI responses, and a Claude Code transcript.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).parent / "demo" / ".backlog-ops" / "usage-ledger.jsonl"
START = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
WORKFLOWS = {  # workflow: (share of requests, prompt cache hit probability)
    "validation": (0.30, 0.93),
    "reviewer": (0.25, 0.85),
    "refinement": (0.20, 0.80),
    "implementer": (0.25, 0.55),
}


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def backlog_line(rng: random.Random, moment: datetime, index: int) -> dict[str, object]:
    workflow = rng.choices(list(WORKFLOWS), [share for share, _ in WORKFLOWS.values()])[0]
    hit = rng.random() < WORKFLOWS[workflow][1]
    prompt_tokens = rng.randint(6000, 30000)
    cached = int(prompt_tokens * rng.uniform(0.7, 0.95)) if hit else 0
    # On Thursday a timestamp slipped into the implementer prefix: it drifts per call.
    prefix = f"{workflow}-prefix-v3"
    if workflow == "implementer" and moment.weekday() == 3:
        prefix += moment.isoformat()
    response = rng.choices(["miss", "hit", "bypass"], [0.6, 0.3, 0.1])[0]
    line: dict[str, object] = {
        "timestamp": stamp(moment), "workflow": workflow,
        "phase": rng.choice(["plan", "implement", "review"]),
        "ticket_id": f"BL-{100 + index % 40}", "model_alias": "balanced",
        "provider": "anthropic", "model": "claude-sonnet-4-6",
        "input_tokens": prompt_tokens, "output_tokens": rng.randint(200, 3000),
        "cached_input_tokens": cached,
        "cost_usd": round((prompt_tokens - cached * 0.9) * 3e-6, 6),
        "cache_hit": hit, "batch_job_id": None, "escalation_reason": None, "status": "ok",
        "prompt_id": workflow, "prefix_sha256": digest(prefix),
        "request_sha256": digest(f"{workflow}-{index % 90}"),
        "response_cache": {"status": response, "useful": rng.random() < 0.9},
    }
    if workflow == "refinement":
        line["semantic_cache"] = {"status": rng.choice(["hit", "miss", "miss", "miss"]),
                                  "similarity": round(rng.uniform(0.8, 0.97), 3),
                                  "useful": rng.random() < 0.8}
    return line


def litellm_row(rng: random.Random, moment: datetime, index: int) -> dict[str, object]:
    prompt = rng.randint(5000, 20000)
    read = int(prompt * 0.8) if rng.random() < 0.75 else 0
    write = 0 if read else int(prompt * 0.7)
    return {
        "request_id": f"chatcmpl-{index:05d}", "call_type": "acompletion", "api_key": "hashed",
        "spend": round((prompt - read * 0.9) * 1e-6, 6), "total_tokens": prompt + 400,
        "prompt_tokens": prompt, "completion_tokens": 400,
        "startTime": moment.strftime("%Y-%m-%dT%H:%M:%S.000"),
        "endTime": (moment + timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%S.000"),
        "model": "claude-haiku-4-5-20251001", "model_group": "cheap",
        "metadata": json.dumps({"user_api_key_alias": "ci", "additional_usage_values": {
            "cache_read_input_tokens": read, "cache_creation_input_tokens": write}}),
        "cache_hit": "True" if rng.random() < 0.15 else "False", "cache_key": "k",
        "request_tags": ["workflow:triage"], "status": "success",
    }


def claude_code_lines(moment: datetime) -> list[dict[str, object]]:
    lines = []
    for turn in range(6):
        usage = {"input_tokens": 12, "cache_creation_input_tokens": 300 if turn else 9000,
                 "cache_read_input_tokens": 0 if turn == 0 else 9000 + 300 * turn,
                 "output_tokens": 150, "service_tier": "standard"}
        for block in ("thinking", "text"):  # one line per content block, same request
            lines.append({
                "type": "assistant", "sessionId": "demo-session", "requestId": f"req_{turn}",
                "timestamp": stamp(moment + timedelta(minutes=turn)), "cwd": "/repo",
                "message": {"id": f"msg_{turn}", "type": "message", "role": "assistant",
                            "model": "claude-opus-4-6", "content": [{"type": block}],
                            "usage": usage}})
    return lines


def main(out: Path = OUT) -> None:
    rng = random.Random(7)
    lines: list[str] = []
    moment = START
    for index in range(420):
        moment += timedelta(minutes=rng.randint(5, 35))
        if index % 6 == 5:
            lines.append(json.dumps(litellm_row(rng, moment, index)))
        else:
            lines.append(json.dumps(backlog_line(rng, moment, index)))
        if index == 200:
            lines.extend(json.dumps(line) for line in claude_code_lines(moment))
            lines.append(json.dumps({"id": "chatcmpl-9", "object": "chat.completion",
                                     "created": int(moment.timestamp()), "model": "gpt-4.1",
                                     "usage": {"prompt_tokens": 4000, "completion_tokens": 90,
                                               "prompt_tokens_details": {"cached_tokens": 3072}}}))
        if index % 50 == 7 and lines[-1].startswith('{"timestamp"'):
            # A retry two minutes later that no cache caught: duplicate spend.
            retry = json.loads(lines[-1])
            retry.update(timestamp=stamp(moment + timedelta(minutes=2)), cache_hit=False,
                         cached_input_tokens=0, response_cache={"status": "miss"})
            lines.append(json.dumps(retry))
        if index == 333:
            lines.append('{"timestamp": "2026-11-21T10:00:00Z", "workflow": "reviewer", '
                         '"input_tokens": "n/a"}')
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
