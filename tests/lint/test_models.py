"""Model minimums: the shipped data file, id normalisation, platforms, settings overrides."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Any

import pytest

from cache_gate.models import (
    ANTHROPIC,
    BEDROCK,
    PLATFORMS,
    VERTEX,
    described,
    load_model_minimums,
    normalise_model_id,
    platform_of,
)


def _data(name: str) -> dict[str, Any]:
    text = resources.files("cache_gate").joinpath("data", name).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@pytest.mark.parametrize(("model", "minimum"), [
    ("claude-opus-5", 512), ("claude-fable-5", 512), ("claude-mythos-5", 512),
    ("claude-opus-4-8", 1024), ("claude-sonnet-5", 1024),
    ("claude-mythos-preview", 2048), ("claude-opus-4-7", 2048),
    ("claude-opus-4-6", 4096), ("claude-opus-4-5", 4096), ("claude-haiku-4-5", 4096),
    ("claude-sonnet-4-6", 1024), ("claude-sonnet-4-5", 1024), ("claude-sonnet-4", 1024),
    ("claude-3-7-sonnet", 1024), ("claude-opus-4-1", 1024), ("claude-opus-4", 1024),
    ("claude-3-5-haiku", 2048), ("claude-3-haiku", 2048),
    # Provider prefixes, date suffixes, aliases, on the Anthropic API.
    ("anthropic/claude-haiku-4-5", 4096),
    ("claude-haiku-4-5-20251001", 4096),
    ("openrouter/anthropic/claude-3.5-haiku", 2048),
    ("anthropic/claude-opus-4.7", 2048),
    ("claude-3-7-sonnet-latest", 1024),
    ("claude-sonnet-4-0", 1024),
    ("claude-sonnet-4-20250514", 1024),
    ("Claude-Opus-4-1", 1024),
    # Bedrock ids: the Bedrock figure where AWS publishes another, else Anthropic's.
    ("anthropic.claude-haiku-4-5-20251001-v1:0", 4096),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", 1024),
    ("bedrock/anthropic.claude-3-5-haiku-20241022-v1:0", 2048),
    ("anthropic.claude-opus-4-7", 4096),
    ("global.anthropic.claude-opus-4-7", 4096),
    ("bedrock/converse/eu.anthropic.claude-opus-4-7", 4096),
    ("anthropic.claude-mythos-preview", 4096),
    ("us.anthropic.claude-opus-5", 512),
    ("anthropic.claude-sonnet-5", 1024),
    ("anthropic.claude-opus-4-6-v1", 4096),
    ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-7",
     4096),
    # Vertex AI: Anthropic's figures hold there.
    ("vertex_ai/claude-3-5-haiku@20241022", 2048),
    ("claude-opus-4-7@20260416", 2048),
    ("vertex_ai/claude-mythos-preview", 2048),
])
def test_shipped_minimums(model: str, minimum: int) -> None:
    assert load_model_minimums().minimum_for(model) == minimum


@pytest.mark.parametrize(("model", "platform"), [
    ("claude-haiku-4-5", ANTHROPIC),
    ("claude-haiku-4-5-20251001", ANTHROPIC),
    ("anthropic/claude-haiku-4-5", ANTHROPIC),
    ("openrouter/anthropic/claude-3.5-haiku", ANTHROPIC),
    ("ollama/qwen3-coder:30b", ANTHROPIC),
    ("bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0", BEDROCK),
    ("bedrock/converse/anthropic.claude-sonnet-4-6", BEDROCK),
    ("amazon-bedrock/anthropic.claude-opus-5", BEDROCK),
    ("anthropic.claude-opus-4-7", BEDROCK),
    ("anthropic.claude-3-5-haiku-20241022-v1:0", BEDROCK),
    ("us.anthropic.claude-haiku-4-5-20251001-v1:0", BEDROCK),
    ("global.anthropic.claude-opus-4-7", BEDROCK),
    ("apac.anthropic.claude-sonnet-4-20250514-v1:0", BEDROCK),
    ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-7",
     BEDROCK),
    ("vertex_ai/claude-opus-4-7", VERTEX),
    ("vertex_ai/claude-3-5-haiku@20241022", VERTEX),
    ("claude-sonnet-4-5@20250929", VERTEX),
    ("Claude-Haiku-4-5@20251001", VERTEX),
    ("projects/p/locations/global/publishers/anthropic/models/claude-opus-4-7", VERTEX),
])
def test_platform_from_the_model_id(model: str, platform: str) -> None:
    assert platform_of(model) == platform


@pytest.mark.parametrize(("model", "normalised"), [
    ("anthropic.claude-opus-4-7", "claude-opus-4-7"),
    ("global.anthropic.claude-opus-5", "claude-opus-5"),
    ("us.anthropic.claude-sonnet-5", "claude-sonnet-5"),
    ("anthropic.claude-fable-5", "claude-fable-5"),
    ("anthropic.claude-mythos-5", "claude-mythos-5"),
    ("anthropic.claude-mythos-preview", "claude-mythos-preview"),
    ("anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
    ("anthropic.claude-opus-4-8", "claude-opus-4-8"),
    ("vertex_ai/claude-opus-4-8@20260528", "claude-opus-4-8"),
    ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
    ("claude-3-5-haiku@20241022", "claude-haiku-3-5"),
])
def test_bedrock_and_vertex_ids_of_the_newer_models(model: str, normalised: str) -> None:
    assert normalise_model_id(model) == normalised


def test_messages_name_the_platform_off_the_anthropic_api() -> None:
    assert described("bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0") == \
        "claude-haiku-4-5 on Bedrock"
    assert described("vertex_ai/claude-opus-4-7") == "claude-opus-4-7 on Vertex AI"
    assert described("anthropic/claude-opus-4-7") == "claude-opus-4-7"


def test_the_figure_used_is_named() -> None:
    minimums = load_model_minimums()
    bedrock = minimums.lookup("us.anthropic.claude-opus-4-7")
    assert bedrock is not None and (bedrock.platform, bedrock.figure_platform) == (BEDROCK,
                                                                                     BEDROCK)
    # Bedrock publishes no figure of its own for Sonnet 4.5 in the table: Anthropic's.
    fallback = minimums.lookup("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert fallback is not None and (fallback.platform, fallback.figure_platform) == (
        BEDROCK, ANTHROPIC)


@pytest.mark.parametrize("model", ["gpt-4o", "claude-instant-1", "cheap", "claude-sonnet-9",
                                   "bedrock/amazon.nova-pro-v1:0"])
def test_unknown_models(model: str) -> None:
    assert load_model_minimums().minimum_for(model) is None


def test_versions_are_not_prefix_matched() -> None:
    assert normalise_model_id("claude-sonnet-4-5") != normalise_model_id("claude-sonnet-4")
    assert normalise_model_id("claude-opus-5") != normalise_model_id("claude-opus-5-5")
    assert load_model_minimums().minimum_for("claude-opus-4-5") == 4096
    assert load_model_minimums().minimum_for("claude-opus-4") == 1024
    assert load_model_minimums().minimum_for("claude-opus-5-5") is None


def test_settings_override_and_extend() -> None:
    minimums = load_model_minimums({"claude-haiku-4-5-20251001": 2048, "balanced": 1024},
                                   "pyproject.toml")
    assert minimums.minimum_for("anthropic/claude-haiku-4-5") == 2048
    assert minimums.minimum_for("balanced") == 1024
    assert minimums.source_for("claude-haiku-4-5") == "pyproject.toml"
    assert minimums.source_for("claude-opus-4-5") == "model_minimums.json"


def test_a_settings_override_wins_on_every_platform() -> None:
    minimums = load_model_minimums({"claude-opus-4-7": 3000})
    for model in ("claude-opus-4-7", "us.anthropic.claude-opus-4-7",
                  "vertex_ai/claude-opus-4-7@20260416"):
        assert minimums.minimum_for(model) == 3000, model
    # The key's own spelling does not matter: a Bedrock id overrides the model everywhere.
    assert load_model_minimums({"bedrock/anthropic.claude-opus-4-7": 3000}).minimum_for(
        "claude-opus-4-7") == 3000


# Every figure shipped, minimums and prices alike, says where it came from and when.
@pytest.mark.parametrize(("name", "value_key"), [("model_minimums.json", "tokens"),
                                                  ("prices.json", "usd_per_mtok")])
def test_every_entry_has_a_source_and_a_checked_date(name: str, value_key: str) -> None:
    document = _data(name)
    assert document["models"]
    for model, platforms in document["models"].items():
        assert normalise_model_id(model) == normalise_model_id(model.lower()), model
        # Anthropic's figure is every other platform's fallback, so it is always there.
        assert ANTHROPIC in platforms, model
        assert set(platforms) <= set(PLATFORMS), model
        for platform, entry in platforms.items():
            where = f"{model} on {platform}"
            assert set(entry) <= {value_key, "source", "checked", "confirmed", "note"}, where
            assert isinstance(entry[value_key], int | float) and entry[value_key] > 0, where
            assert entry["source"].startswith("https://"), where
            checked = dt.date.fromisoformat(entry["checked"])
            assert dt.date(2026, 1, 1) <= checked <= dt.date.today(), where
            assert isinstance(entry.get("confirmed", True), bool), where
            if entry.get("confirmed", True) is False:
                assert entry.get("note"), f"{where}: unconfirmed without a note saying why"


def test_minimums_are_whole_tokens_and_prices_cover_the_same_models() -> None:
    minimums, prices = _data("model_minimums.json"), _data("prices.json")
    for platforms in minimums["models"].values():
        assert all(isinstance(entry["tokens"], int) for entry in platforms.values())
    # Mythos Preview has no public price: the only model without one.
    assert set(minimums["models"]) - set(prices["models"]) == {"claude-mythos-preview"}
