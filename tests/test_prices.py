"""The shipped price table: base input prices by model and platform, settings overrides."""

from __future__ import annotations

import pytest

from cache_gate.models import SPELLINGS_KEPT, load_model_minimums
from cache_gate.prices import load_prices


@pytest.mark.parametrize(("model", "usd"), [
    ("claude-fable-5", 10.0), ("claude-mythos-5", 10.0),
    ("claude-opus-5", 5.0), ("claude-opus-4-8", 5.0), ("claude-opus-4-7", 5.0),
    ("claude-opus-4-6", 5.0), ("claude-opus-4-5", 5.0),
    ("claude-opus-4-1", 15.0), ("claude-opus-4", 15.0),
    ("claude-sonnet-5", 2.0), ("claude-sonnet-4-6", 3.0), ("claude-sonnet-4-5", 3.0),
    ("claude-sonnet-4", 3.0), ("claude-3-7-sonnet", 3.0),
    ("claude-haiku-4-5", 1.0), ("claude-3-5-haiku", 0.8), ("claude-3-haiku", 0.25),
    # Every spelling and platform: no platform has a price of its own, so Anthropic's.
    ("anthropic/claude-sonnet-4-5-20250929", 3.0),
    ("us.anthropic.claude-opus-5", 5.0),
    ("bedrock/anthropic.claude-sonnet-5", 2.0),
    ("vertex_ai/claude-opus-4-7@20260416", 5.0),
])
def test_shipped_prices(model: str, usd: float) -> None:
    assert load_prices().price(model) == usd


@pytest.mark.parametrize("model", [None, "gpt-4.1", "claude-mythos-preview", "cheap"])
def test_unknown_prices(model: str | None) -> None:
    assert load_prices().price(model) is None


def test_settings_override_and_extend_on_every_platform() -> None:
    prices = load_prices({"some-private-model": 2.0, "claude-opus-4-7": 4.0})
    assert prices.price("some-private-model") == 2.0
    for model in ("claude-opus-4-7", "global.anthropic.claude-opus-4-7",
                  "vertex_ai/claude-opus-4-7"):
        assert prices.price(model) == 4.0, model
    assert load_prices().price("claude-opus-4-7") == 5.0  # the shipped table is untouched


def test_savings_use_the_caching_multipliers() -> None:
    prices = load_prices()
    # A million reads at $5 save 0.9 x $5; a million 5-minute writes cost 0.25 x $5 extra.
    assert prices.saved_usd(5.0, 1_000_000, 0, 0) == pytest.approx(4.5)
    assert prices.saved_usd(5.0, 0, 1_000_000, 0) == pytest.approx(-1.25)
    assert prices.saved_usd(5.0, 0, 0, 1_000_000) == pytest.approx(-5.0)


def test_lookups_by_spelling_are_remembered_within_a_bound() -> None:
    """A ledger that names a model a request does not grow the memo without bound, and
    every answer stays the table's."""
    prices, minimums = load_prices(), load_model_minimums()
    for index in range(3 * SPELLINGS_KEPT):
        assert prices.price(f"private-{index}") is None
        assert minimums.minimum_for(f"private-{index}") is None
        assert prices.price("claude-sonnet-4-6") == 3.0
    assert len(prices._known) <= SPELLINGS_KEPT
    assert len(minimums._known) <= SPELLINGS_KEPT
