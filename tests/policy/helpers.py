"""Run `cache-gate policy` as a user would, on configs written for the test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from cache_gate.cli import cli
from tests import consumers

FIXTURES = Path(__file__).parents[2] / "fixtures" / "policy"
# The backlog-agents configs in the team's ../shared (tests.consumers.shared_path skips
# where a clone has none beside it, and fails in CI).
REALWORLD = consumers.REALWORLD / "backlog-agents" / "config"


def backlog_config(stable_prefix_min_tokens: int = 4096, **cache_policy: Any) -> dict[str, Any]:
    """A backlog config whose routing sends to `cheap` and `balanced` only."""
    policy: dict[str, Any] = {
        "providerPromptCaching": True,
        "stablePrefixMinTokens": stable_prefix_min_tokens,
        "responseCache": {"enabled": True, "ttlSeconds": 3600, "backend": "redis"},
        "semanticCache": {"enabled": True, "backend": "qdrant", "threshold": 0.88},
    }
    policy.update(cache_policy)
    return {"version": "1.1", "llmOps": {
        "routing": {"entryModelClassify": "cheap", "entryModelPlan": "cheap",
                    "entryModelDraft": "cheap", "entryModelImplement": "balanced",
                    "entryModelReview": "cheap", "escalationModel": "balanced"},
        "cachePolicy": policy}}


def litellm_config(**cache_params: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"type": "redis", "host": "localhost", "ttl": 3600}
    params.update(cache_params)
    return {
        "model_list": [
            {"model_name": "cheap", "litellm_params": {"model": "anthropic/claude-haiku-4-5"}},
            {"model_name": "balanced",
             "litellm_params": {"model": "anthropic/claude-sonnet-4-6"}},
        ],
        "litellm_settings": {"cache": True, "cache_params": params},
    }


def write_configs(directory: Path, backlog: dict[str, Any] | None = None,
                  litellm: dict[str, Any] | str | None = None) -> list[str]:
    """Write the configs; the policy arguments that name them."""
    args: list[str] = []
    if backlog is not None:
        path = directory / "backlog.config.json"
        path.write_text(json.dumps(backlog, indent=2) + "\n", encoding="utf-8")
        args += ["--config", str(path)]
    if litellm is not None:
        path = directory / "litellm.yaml"
        text = litellm if isinstance(litellm, str) else yaml.safe_dump(litellm, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        args += ["--litellm-config", str(path)]
    return args


def policy(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["policy", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def policy_json(*args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = policy(*args, "--format", "json")
    assert err == "", err
    return code, json.loads(out)


def rules_of(document: dict[str, Any]) -> list[str]:
    return sorted(finding["rule"] for finding in document["findings"])
