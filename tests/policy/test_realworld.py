"""`policy` on the backlog-agents toolkit's own configs, read where they live (never copied).

What they hold, and so what policy must say:
- presets/default.json routes implementation to `cheap` with stablePrefixMinTokens 2048;
- both LiteLLM configs map `cheap` to Claude Haiku 4.5, whose minimum cacheable prompt
  is 4,096 tokens: one CG306 error, and nothing else (response cache on, redis, 1 h TTL;
  the semantic cache is off and optional);
- `free` is a local Ollama model in the docker config (no known minimum) and is not
  defined at all in the template.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cache_gate.policy.schema import BACKLOG_SCHEMA, load_schema
from tests import consumers
from tests.policy.helpers import REALWORLD, policy, policy_json

PRESET = REALWORLD / "presets" / "default.json"
DOCKER = REALWORLD / "litellm" / "proxy-config.docker.yaml"
TEMPLATE = REALWORLD / "litellm" / "proxy-config.template.yaml"
SCHEMA = REALWORLD / "backlog.config.schema.json"


def need(*paths: Path) -> None:
    for path in paths:
        consumers.shared_path(str(path.relative_to(consumers.SHARED)))


def line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1)
                if text in line)


# The docker config reaches Haiku through Bedrock, the template through the Anthropic API.
@pytest.mark.parametrize(("proxy", "haiku"), [
    (DOCKER, "claude-haiku-4-5 on Bedrock"), (TEMPLATE, "claude-haiku-4-5"),
], ids=["docker", "template"])
def test_the_preset_routes_implementation_to_haiku_below_its_minimum(proxy: Path,
                                                                     haiku: str) -> None:
    need(PRESET, proxy)
    code, document = policy_json("--config", str(PRESET), "--litellm-config", str(proxy))
    assert code == 1
    [finding] = document["findings"]
    assert finding["rule"] == "CG306" and finding["severity"] == "error"
    assert finding["path"] == str(PRESET)
    assert finding["line"] == line_of(PRESET, '"stablePrefixMinTokens"')
    message = finding["message"]
    assert message.startswith("llmOps.cachePolicy.stablePrefixMinTokens 2048 is below the "
                              f"4,096-token minimum cacheable prompt of {haiku}, which "
                              "llmOps.routing.entryModelImplement sends to (cheap → ")
    assert "haiku-4-5" in message.split("cheap → ")[1]
    assert "Raise stablePrefixMinTokens to 4096" in finding["hint"]
    routed = {m["normalised"]: m["minimum_tokens"] for m in document["policy"]["routed_models"]}
    assert routed["claude-haiku-4-5"] == 4096 and routed["claude-sonnet-4-6"] == 1024


def test_docker_free_alias_is_a_local_model_not_checked() -> None:
    need(PRESET, DOCKER)
    _, out, _ = policy("--config", str(PRESET), "--litellm-config", str(DOCKER))
    assert "CG306 not checked for free → ollama/qwen3-coder:30b" in out
    assert "llmOps.routing.entryModelPlan" in out


def test_template_does_not_define_the_free_alias_the_preset_uses() -> None:
    need(PRESET, TEMPLATE)
    _, out, _ = policy("--config", str(PRESET), "--litellm-config", str(TEMPLATE))
    assert "routing alias 'free' (llmOps.routing.entryModelClassify, " in out
    assert "(defined: balanced, cheap, frontier)" in out


def test_the_preset_alone_cannot_resolve_its_aliases() -> None:
    need(PRESET)
    code, out, _ = policy("--config", str(PRESET))
    assert code == 0
    assert "CG306 not checked for alias 'cheap' (llmOps.routing.entryModelImplement): pass " \
           "--litellm-config" in out


@pytest.mark.parametrize("proxy", [DOCKER, TEMPLATE], ids=["docker", "template"])
def test_each_proxy_config_alone_is_clean(proxy: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    need(proxy)
    monkeypatch.chdir(tmp_path)
    code, document = policy_json("--litellm-config", str(proxy))
    assert code == 0 and document["findings"] == []
    assert document["policy"]["response_cache"] == {"on": True, "type": "redis", "ttl": 3600}


def _planted(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text
    planted = tmp_path / source.name
    planted.write_text(text.replace(old, new, 1), encoding="utf-8")
    return planted


@pytest.mark.parametrize(("old", "new", "rule", "at"), [
    ("ttl: 3600", "ttl: 900", "CG304", "ttl: 900"),
    ("  cache: true", "  cache: false", "CG305", "cache: false"),
    ("type: redis\n", "type: redis-semantic\n    similarity_threshold: 0.7\n", "CG302",
     "similarity_threshold"),
    ("type: redis\n", "type: qdrant-semantic\n    similarity_threshold: 0.95\n", "CG303",
     "similarity_threshold"),
    ("type: redis\n", "type: redis-semantic\n", "CG301", "cache_params:"),
    ("type: redis\n", "type: redis\n    supported_call_types: []\n", "CG305",
     "supported_call_types"),
])
def test_planted_variants_of_the_docker_config(tmp_path: Path, old: str, new: str, rule: str,
                                               at: str) -> None:
    need(PRESET, DOCKER)
    planted = _planted(tmp_path, DOCKER, old, new)
    _, document = policy_json("--config", str(PRESET), "--litellm-config", str(planted))
    assert sorted(f["rule"] for f in document["findings"]) == sorted(["CG306", rule])
    [finding] = [f for f in document["findings"] if f["rule"] == rule]
    assert finding["path"] == str(planted)
    assert finding["line"] == line_of(planted, at)


def test_raising_the_prefix_minimum_passes_with_the_docker_config(tmp_path: Path) -> None:
    need(PRESET, DOCKER)
    planted = _planted(tmp_path, PRESET, '"stablePrefixMinTokens": 2048',
                       '"stablePrefixMinTokens": 4096')
    code, document = policy_json("--config", str(planted), "--litellm-config", str(DOCKER))
    assert code == 0 and document["findings"] == []


def test_a_planted_aggressive_semantic_cache_in_the_preset(tmp_path: Path) -> None:
    need(PRESET)
    planted = _planted(tmp_path, PRESET, '"enabled": false,\n        "backend": "qdrant",\n'
                       '        "threshold": 0.88', '"enabled": true,\n        "backend": '
                       '"qdrant",\n        "threshold": 0.8')
    _, document = policy_json("--config", str(planted))
    [finding] = document["findings"]
    assert finding["rule"] == "CG302"
    assert finding["line"] == line_of(planted, '"threshold": 0.8')


def test_our_schema_accepts_what_the_toolkits_schema_accepts() -> None:
    """The keys the toolkit declares for cachePolicy and routing are all known to us, so
    a valid toolkit config never gets a CG301 'unknown key'."""
    need(SCHEMA, PRESET)
    theirs = json.loads(SCHEMA.read_text(encoding="utf-8"))["properties"]["llmOps"]["properties"]
    ours = load_schema(BACKLOG_SCHEMA)["properties"]["llmOps"]["properties"]
    for section in ("cachePolicy", "routing"):
        assert set(theirs[section]["properties"]) <= set(ours[section]["properties"]), section
    for layer in ("responseCache", "semanticCache"):
        their_layer = theirs["cachePolicy"]["properties"][layer]["properties"]
        our_layer = ours["cachePolicy"]["properties"][layer]["properties"]
        assert set(their_layer) <= set(our_layer), layer
        for key, spec in their_layer.items():
            if "enum" in spec:
                assert spec["enum"] == our_layer[key]["enum"], (layer, key)
    _, document = policy_json("--config", str(PRESET))
    assert not [f for f in document["findings"] if f["rule"] == "CG301"]
