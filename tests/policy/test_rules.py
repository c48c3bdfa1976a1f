"""The policy rules on planted variants: bands and their boundaries, what each message says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.policy.helpers import (
    backlog_config,
    litellm_config,
    policy,
    policy_json,
    rules_of,
    write_configs,
)


@pytest.mark.parametrize(("threshold", "rules"), [
    (0.5, ["CG302"]), (0.8199, ["CG302"]), (0.82, []), (0.88, []), (0.9199, []),
    (0.92, ["CG303"]), (1.0, ["CG303"]),
])
def test_semantic_threshold_bands(tmp_path: Path, threshold: float, rules: list[str]) -> None:
    semantic = {"enabled": True, "backend": "qdrant", "threshold": threshold}
    code, document = policy_json(*write_configs(tmp_path, backlog_config(semanticCache=semantic)))
    assert rules_of(document) == rules
    assert code == 0  # warnings and infos do not fail the gate


@pytest.mark.parametrize(("threshold", "rules"), [(0.81, ["CG302"]), (0.9, []), (0.95, ["CG303"])])
def test_litellm_similarity_threshold_bands(tmp_path: Path, threshold: float,
                                            rules: list[str]) -> None:
    config = litellm_config(type="redis-semantic", similarity_threshold=threshold)
    _, document = policy_json(*write_configs(tmp_path, litellm=config))
    assert rules_of(document) == rules
    if rules:
        assert "litellm_settings.cache_params.similarity_threshold" in (
            document["findings"][0]["message"])


def test_threshold_of_a_disabled_or_exact_cache_is_not_judged(tmp_path: Path) -> None:
    semantic = {"enabled": False, "backend": "qdrant", "threshold": 0.5}
    # similarity_threshold means nothing to an exact-match redis cache.
    args = write_configs(tmp_path, backlog_config(semanticCache=semantic),
                         litellm_config(similarity_threshold=0.5))
    _, document = policy_json(*args)
    assert rules_of(document) == []


def test_aggressive_threshold_message_and_fix(tmp_path: Path) -> None:
    semantic = {"enabled": True, "threshold": 0.75}
    _, out, _ = policy(*write_configs(tmp_path, backlog_config(semanticCache=semantic)))
    assert ("CG302 semantic-threshold-aggressive warning: semantic cache threshold "
            "llmOps.cachePolicy.semanticCache.threshold is 0.75, below 0.82") in out
    assert "fix: Raise it towards 0.88" in out


@pytest.mark.parametrize(("ttl", "rules"), [(60, ["CG304"]), (3599, ["CG304"]), (3600, []),
                                            (7200, [])])
def test_response_cache_ttl(tmp_path: Path, ttl: int, rules: list[str]) -> None:
    response = {"enabled": True, "ttlSeconds": ttl, "backend": "redis"}
    args = write_configs(tmp_path, backlog_config(responseCache=response), litellm_config(ttl=ttl))
    _, document = policy_json(*args)
    assert rules_of(document) == rules * 2  # in both files


def test_ttl_message_gives_the_runbook_values(tmp_path: Path) -> None:
    _, out, _ = policy(*write_configs(tmp_path, litellm=litellm_config(ttl=1800)))
    assert "litellm_settings.cache_params.ttl is 1800 s (30 min), below the runbook's 3600 s" in out
    assert "Use 3600 s, or 7200 s for long refactoring sessions" in out


def test_a_litellm_cache_without_ttl_keeps_entries_and_is_not_flagged(tmp_path: Path) -> None:
    config = litellm_config()
    del config["litellm_settings"]["cache_params"]["ttl"]
    _, document = policy_json(*write_configs(tmp_path, litellm=config))
    assert rules_of(document) == []


def test_disabled_semantic_cache_is_an_optional_layer(tmp_path: Path) -> None:
    semantic = {"enabled": False, "backend": "qdrant", "threshold": 0.88}
    _, document = policy_json(*write_configs(tmp_path, backlog_config(semanticCache=semantic)))
    assert rules_of(document) == []


def test_backlog_enables_a_response_cache_the_proxy_never_turns_on(tmp_path: Path) -> None:
    config = litellm_config()
    del config["litellm_settings"]["cache"], config["litellm_settings"]["cache_params"]
    _, document = policy_json(*write_configs(tmp_path, backlog_config(), config))
    [finding] = document["findings"]
    assert finding["rule"] == "CG305"
    assert "the proxy has no response cache" in finding["message"]
    assert "although" in finding["message"] and "enables it" in finding["message"]


def test_a_proxy_without_cache_is_consistent_with_a_disabled_response_cache(
        tmp_path: Path) -> None:
    config = litellm_config()
    del config["litellm_settings"]["cache"], config["litellm_settings"]["cache_params"]
    response = {"enabled": False, "ttlSeconds": 3600, "backend": "redis"}
    _, document = policy_json(*write_configs(tmp_path, backlog_config(responseCache=response),
                                             config))
    # Reported once, where the layer is switched off, not again for the proxy.
    assert [(f["rule"], f["path"].endswith(".json")) for f in document["findings"]] == [
        ("CG305", True)]


def test_empty_supported_call_types(tmp_path: Path) -> None:
    _, document = policy_json(*write_configs(tmp_path,
                                             litellm=litellm_config(supported_call_types=[])))
    [finding] = document["findings"]
    assert finding["rule"] == "CG305" and "caches no call type" in finding["message"]


def test_chat_call_types_keep_the_layer_on(tmp_path: Path) -> None:
    config = litellm_config(supported_call_types=["acompletion", "aembedding"])
    _, document = policy_json(*write_configs(tmp_path, litellm=config))
    assert rules_of(document) == []


def test_haiku_routing_below_its_minimum(tmp_path: Path) -> None:
    code, out, _ = policy(*write_configs(tmp_path, backlog_config(2048), litellm_config()))
    assert code == 1
    assert ("CG306 prefix-min-below-model error: llmOps.cachePolicy.stablePrefixMinTokens 2048 "
            "is below the 4,096-token minimum cacheable prompt of claude-haiku-4-5") in out
    assert "(cheap → anthropic/claude-haiku-4-5 in" in out
    assert "llmOps.routing.entryModelClassify" in out
    assert "fix: Raise stablePrefixMinTokens to 4096" in out
    # Sonnet's minimum (1,024) is met: one finding only.
    assert out.count("CG306") == 1


def test_every_deployment_of_an_alias_is_checked(tmp_path: Path) -> None:
    config = litellm_config()
    config["model_list"][1]["model_name"] = "cheap"  # cheap load-balances haiku and sonnet
    _, document = policy_json(*write_configs(tmp_path, backlog_config(1024), config))
    assert [f["rule"] for f in document["findings"]] == ["CG306"]
    assert "claude-haiku-4-5" in document["findings"][0]["message"]
    models = {m["normalised"]: m["minimum_tokens"]
              for m in document["policy"]["routed_models"]}
    assert models == {"claude-haiku-4-5": 4096, "claude-sonnet-4-6": 1024}


def _all_to_cheap(stable_prefix_min_tokens: int) -> dict[str, Any]:
    backlog = backlog_config(stable_prefix_min_tokens)
    backlog["llmOps"]["routing"] = dict.fromkeys(backlog["llmOps"]["routing"], "cheap")
    return backlog


def _opus_47_on(*models: str) -> dict[str, Any]:
    config = litellm_config()
    config["model_list"] = [{"model_name": "cheap", "litellm_params": {"model": model}}
                            for model in models]
    return config


@pytest.mark.parametrize(("model", "message"), [
    ("anthropic/claude-opus-4-7", None),  # 2,048 on the Anthropic API: met
    ("vertex_ai/claude-opus-4-7@20260416", None),  # Anthropic's figure holds on Vertex AI
    ("bedrock/us.anthropic.claude-opus-4-7",
     "below the 4,096-token minimum cacheable prompt of claude-opus-4-7 on Bedrock, which"),
    ("bedrock/global.anthropic.claude-mythos-preview",
     "below the 4,096-token minimum cacheable prompt of claude-mythos-preview on Bedrock"),
])
def test_the_platform_of_the_routed_model_picks_the_minimum(tmp_path: Path, model: str,
                                                           message: str | None) -> None:
    _, document = policy_json(*write_configs(tmp_path, _all_to_cheap(2048), _opus_47_on(model)))
    if message is None:
        assert document["findings"] == []
    else:
        [finding] = document["findings"]
        assert message in finding["message"]
        assert "Raise stablePrefixMinTokens to 4096" in finding["hint"]


def test_one_model_through_two_platforms_is_checked_on_each(tmp_path: Path) -> None:
    config = _opus_47_on("anthropic/claude-opus-4-7", "bedrock/anthropic.claude-opus-4-7")
    _, document = policy_json(*write_configs(tmp_path, _all_to_cheap(2048), config))
    routed = {(m["normalised"], m["platform"]): m["minimum_tokens"]
              for m in document["policy"]["routed_models"]}
    assert routed == {("claude-opus-4-7", "anthropic"): 2048,
                      ("claude-opus-4-7", "bedrock"): 4096}
    [finding] = document["findings"]
    assert "claude-opus-4-7 on Bedrock" in finding["message"]


def test_model_minimums_from_the_settings_override_the_shipped_table(tmp_path: Path) -> None:
    settings = tmp_path / ".cache-gate.toml"
    settings.write_text('[model-minimums]\n"claude-sonnet-4-6" = 8192\n', encoding="utf-8")
    args = write_configs(tmp_path, backlog_config(4096), litellm_config())
    _, document = policy_json(*args, "--settings", str(settings))
    [finding] = document["findings"]
    assert "8,192-token minimum cacheable prompt of claude-sonnet-4-6" in finding["message"]


def test_no_prompt_caching_means_no_minimum_to_meet(tmp_path: Path) -> None:
    backlog = backlog_config(1024, providerPromptCaching=False)
    _, document = policy_json(*write_configs(tmp_path, backlog, litellm_config()))
    assert rules_of(document) == ["CG305"]


def test_absent_routing_keys_take_the_toolkit_defaults(tmp_path: Path) -> None:
    backlog = backlog_config(2048)
    backlog["llmOps"]["routing"] = {"entryModelImplement": "balanced"}
    _, document = policy_json(*write_configs(tmp_path, backlog, litellm_config()))
    [finding] = document["findings"]
    assert "llmOps.routing.entryModelClassify (default)" in finding["message"]
    assert document["policy"]["routing"]["entryModelPlan"] == {"alias": "free", "default": True}
    _, out, _ = policy(*write_configs(tmp_path, backlog, litellm_config()))
    assert "routing alias 'free' (llmOps.routing.entryModelPlan (default))" in out


def test_unresolvable_aliases_are_said_not_checked(tmp_path: Path) -> None:
    code, out, _ = policy(*write_configs(tmp_path, backlog_config(1024)))
    assert code == 0
    assert ("CG306 not checked for alias 'cheap' (llmOps.routing.entryModelClassify, "
            "llmOps.routing.entryModelDraft, llmOps.routing.entryModelPlan, "
            "llmOps.routing.entryModelReview): pass --litellm-config") in out


def test_an_alias_missing_from_the_model_list_is_named(tmp_path: Path) -> None:
    backlog = backlog_config(4096)
    backlog["llmOps"]["routing"]["entryModelPlan"] = "free"
    _, out, _ = policy(*write_configs(tmp_path, backlog, litellm_config()))
    assert ("routing alias 'free' (llmOps.routing.entryModelPlan) is not a model_name in") in out
    assert "(defined: balanced, cheap)" in out


def test_a_local_model_has_no_known_minimum(tmp_path: Path) -> None:
    config = litellm_config()
    config["model_list"].append({"model_name": "free",
                                 "litellm_params": {"model": "ollama/qwen3-coder:30b"}})
    backlog = backlog_config(4096)
    backlog["llmOps"]["routing"]["entryModelPlan"] = "free"
    code, out, _ = policy(*write_configs(tmp_path, backlog, config))
    assert code == 0
    assert "CG306 not checked for free → ollama/qwen3-coder:30b" in out
    assert "[tool.cache-gate.model-minimums]" in out


def test_a_wildcard_deployment_is_not_guessed_at(tmp_path: Path) -> None:
    config = litellm_config()
    config["model_list"].append({"model_name": "anthropic/*",
                                 "litellm_params": {"model": "anthropic/*"}})
    backlog = backlog_config(4096)
    backlog["llmOps"]["routing"]["escalationModel"] = "anthropic/claude-x-9"
    _, out, _ = policy(*write_configs(tmp_path, backlog, config))
    assert "it reaches the proxy through a wildcard model_name" in out


def test_settings_ignore_silences_a_rule(tmp_path: Path) -> None:
    settings = tmp_path / ".cache-gate.toml"
    settings.write_text('ignore = ["prefix-min-below-model"]\n', encoding="utf-8")
    args = write_configs(tmp_path, backlog_config(2048), litellm_config())
    code, document = policy_json(*args, "--settings", str(settings))
    assert code == 0 and document["findings"] == []


def test_a_lint_only_select_does_not_silence_policy(tmp_path: Path) -> None:
    settings = tmp_path / ".cache-gate.toml"
    settings.write_text('select = ["CG1"]\n', encoding="utf-8")
    args = write_configs(tmp_path, backlog_config(2048), litellm_config())
    code, document = policy_json(*args, "--settings", str(settings))
    assert code == 1 and rules_of(document) == ["CG306"]


def test_the_two_files_disagreeing_on_the_backend_is_noted(tmp_path: Path) -> None:
    _, out, _ = policy(*write_configs(tmp_path, backlog_config(), litellm_config(type="s3")))
    assert ("says the response cache backend is 'redis' "
            "(llmOps.cachePolicy.responseCache.backend), but") in out
    assert "configures 's3'" in out
