"""Model minimums: the shipped data file, id normalisation, settings overrides."""

from __future__ import annotations

import pytest

from cache_gate.models import load_model_minimums, normalise_model_id


@pytest.mark.parametrize(("model", "minimum"), [
    ("claude-opus-4-6", 4096), ("claude-opus-4-5", 4096), ("claude-haiku-4-5", 4096),
    ("claude-sonnet-4-6", 1024), ("claude-sonnet-4-5", 1024), ("claude-sonnet-4", 1024),
    ("claude-3-7-sonnet", 1024), ("claude-opus-4-1", 1024), ("claude-opus-4", 1024),
    ("claude-3-5-haiku", 2048), ("claude-3-haiku", 2048),
    # Provider prefixes, date suffixes, Bedrock and Vertex ids, aliases.
    ("anthropic/claude-haiku-4-5", 4096),
    ("claude-haiku-4-5-20251001", 4096),
    ("anthropic.claude-haiku-4-5-20251001-v1:0", 4096),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", 1024),
    ("bedrock/anthropic.claude-3-5-haiku-20241022-v1:0", 2048),
    ("vertex_ai/claude-3-5-haiku@20241022", 2048),
    ("openrouter/anthropic/claude-3.5-haiku", 2048),
    ("claude-3-7-sonnet-latest", 1024),
    ("claude-sonnet-4-0", 1024),
    ("claude-sonnet-4-20250514", 1024),
    ("Claude-Opus-4-1", 1024),
])
def test_shipped_minimums(model: str, minimum: int) -> None:
    assert load_model_minimums().minimum_for(model) == minimum


@pytest.mark.parametrize("model", ["gpt-4o", "claude-instant-1", "cheap", "claude-sonnet-9"])
def test_unknown_models(model: str) -> None:
    assert load_model_minimums().minimum_for(model) is None


def test_versions_are_not_prefix_matched() -> None:
    assert normalise_model_id("claude-sonnet-4-5") != normalise_model_id("claude-sonnet-4")
    assert load_model_minimums().minimum_for("claude-opus-4-5") == 4096
    assert load_model_minimums().minimum_for("claude-opus-4") == 1024


def test_settings_override_and_extend() -> None:
    minimums = load_model_minimums({"claude-haiku-4-5-20251001": 2048, "balanced": 1024},
                                   "pyproject.toml")
    assert minimums.minimum_for("anthropic/claude-haiku-4-5") == 2048
    assert minimums.minimum_for("balanced") == 1024
    assert minimums.source_for("claude-haiku-4-5") == "pyproject.toml"
    assert minimums.source_for("claude-opus-4-5") == "model_minimums.json"
